#include "collector/dashboard.hpp"

// Each file is assembled into .rodata as it is on disk (.incbin): no
// generated sources, no copy of Chart.js in the repository. The paths come
// from collector/CMakeLists.txt.
#define PULSE_EMBED(name, path)                                                                         \
  asm(".section .rodata\n.balign 16\n.global pulse_" #name "_begin\n.hidden pulse_" #name               \
      "_begin\n"                                                                                        \
      "pulse_" #name "_begin:\n.incbin \"" path "\"\n.global pulse_" #name "_end\n.hidden pulse_" #name \
      "_end\npulse_" #name "_end:\n.previous\n");                                                       \
  extern "C" const char pulse_##name##_begin[], pulse_##name##_end[];

PULSE_EMBED(index_html, PULSE_DASHBOARD_DIR "/index.html")
PULSE_EMBED(dashboard_js, PULSE_DASHBOARD_DIR "/dashboard.js")
PULSE_EMBED(dashboard_css, PULSE_DASHBOARD_DIR "/dashboard.css")
PULSE_EMBED(chart_js, PULSE_CHART_JS)

namespace pulse::collector {

namespace {

struct File {
  std::string_view path;
  std::string_view content_type;
  const char* begin;
  const char* end;
};

const File kFiles[] = {
    {"/", "text/html; charset=utf-8", pulse_index_html_begin, pulse_index_html_end},
    {"/index.html", "text/html; charset=utf-8", pulse_index_html_begin, pulse_index_html_end},
    {"/assets/dashboard.js", "text/javascript; charset=utf-8", pulse_dashboard_js_begin, pulse_dashboard_js_end},
    {"/assets/dashboard.css", "text/css; charset=utf-8", pulse_dashboard_css_begin, pulse_dashboard_css_end},
    {"/assets/chart.min.js", "text/javascript; charset=utf-8", pulse_chart_js_begin, pulse_chart_js_end},
};

}  // namespace

std::optional<ServerResponse> dashboard_file(std::string_view path) {
  for (const auto& f : kFiles) {
    if (f.path != path) continue;
    ServerResponse r;
    r.content_type = std::string(f.content_type);
    r.body.assign(f.begin, f.end);
    r.headers = {
        {"Content-Security-Policy",
         "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
         "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"Cache-Control", "no-cache"},
    };
    return r;
  }
  return std::nullopt;
}

}  // namespace pulse::collector
