// The portable release only: Debian's static libgit2 was built with SPNEGO
// (Kerberos) authentication for HTTP remotes, and Debian ships no static
// GSSAPI library. The tools use libgit2 on local repositories alone (they
// run `git` for every fetch), so these entry points answer GSS_S_FAILURE:
// libgit2 then treats Negotiate as unavailable, as on a host without
// Kerberos.
#include <cstdint>

namespace {
constexpr std::uint32_t kGssFailure = 13u << 16;  // GSS_S_FAILURE

std::uint32_t unavailable(std::uint32_t* minor) {
  if (minor) *minor = 0;
  return kGssFailure;
}
}  // namespace

extern "C" {
void* GSS_C_NT_HOSTBASED_SERVICE = nullptr;

std::uint32_t gss_import_name(std::uint32_t* minor, void*, void*, void*) { return unavailable(minor); }
std::uint32_t gss_init_sec_context(std::uint32_t* minor, void*, void*, void*, void*, std::uint32_t, std::uint32_t,
                                   void*, void*, void*, void*, std::uint32_t*, std::uint32_t*) {
  return unavailable(minor);
}
std::uint32_t gss_delete_sec_context(std::uint32_t* minor, void*, void*) { return unavailable(minor); }
std::uint32_t gss_display_status(std::uint32_t* minor, std::uint32_t, int, void*, std::uint32_t*, void*) {
  return unavailable(minor);
}
std::uint32_t gss_indicate_mechs(std::uint32_t* minor, void*) { return unavailable(minor); }
std::uint32_t gss_release_buffer(std::uint32_t* minor, void*) { return unavailable(minor); }
std::uint32_t gss_release_name(std::uint32_t* minor, void*) { return unavailable(minor); }
std::uint32_t gss_release_oid_set(std::uint32_t* minor, void*) { return unavailable(minor); }
}
