# Debian package: `cmake --build --preset release --target package`.
install(TARGETS pulse-event-cli pulse-collector pulse-incident pulse-hook pulse-hook-worker pulse-deploy RUNTIME DESTINATION bin)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/systemd/pulse-collector.service
              ${CMAKE_SOURCE_DIR}/packaging/systemd/pulse-incident.service
        DESTINATION lib/systemd/system)
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "pulse-suite")
set(CPACK_PACKAGE_CONTACT "Pulse suite maintainers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "DORA event capture: pulse-event-cli, pulse-collector, pulse-incident")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(CPack)
