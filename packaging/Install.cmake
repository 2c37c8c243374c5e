# What `cmake --install` puts where (the Debian packages' build, debian/rules,
# starts from it; it moves the hook's worker to /usr/libexec/pulse and adds
# the manual pages, completions, configuration and units).
install(TARGETS pulse-event-cli pulse-collector pulse-incident pulse-hook pulse-hook-worker pulse-deploy
        RUNTIME DESTINATION bin)
