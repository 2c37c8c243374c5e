// The web dashboard's files (HTML, CSS, JavaScript and Chart.js from
// Debian's libjs-chart.js), built into the binary: the collector serves them
// itself and the page makes no outside request.
#pragma once

#include "core/net/http_server.hpp"

#include <optional>
#include <string_view>

namespace pulse::collector {

/// The response for GET `path` if it is one of the dashboard's files
/// ("/", "/assets/..."), else nullopt.
std::optional<ServerResponse> dashboard_file(std::string_view path);

}  // namespace pulse::collector
