// How every client reaches a collector: the one default URL, the flags that
// say where and how (the same on pulse-event-cli, pulse-deploy and
// pulse-incident), and reading them, with the combinations that contradict
// each other refused.
#pragma once

#include "core/cmdline/args.hpp"
#include "core/net/http_client.hpp"
#include "core/client/ingestion.hpp"
#include "core/net/retry.hpp"
#include "core/util/url.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pulse {

/// Where events go unless told otherwise: a collector on this machine.
inline constexpr const char* kDefaultBaseUrl = "http://127.0.0.1:8765";

/// --base-url, --api-key, --api-key-file, --ca-file, --insecure, --timeout,
/// --max-attempts; `base_url_help` says what the URL is for.
std::vector<FlagSpec> connection_flags(std::string_view base_url_help = "ingestion API base URL");

struct ServerConnection {
  Origin origin;
  std::string base_url;      ///< as given (for the outbox)
  std::string api_key;       ///< from --api-key or the key file's first line
  std::string api_key_file;  ///< as given, when the key came from a file
  ClientOptions client;      ///< TLS, proxy, the whole-request timeout
  RetryPolicy retry;         ///< --max-attempts, and retries for as long as one request may take (60 s at least)
};

/// Reads the connection flags. Refuses (false, `why` naming the flags) a bad
/// URL, number or proxy, a key file that cannot be read, --api-key with
/// --api-key-file (which key?), and --insecure with --ca-file (trust one CA,
/// or anything?). `timeout_flag` names the flag that holds the timeout (a
/// server that also has a --timeout of its own calls it otherwise).
std::optional<ServerConnection> read_connection(const ParsedArgs& a, const Env& env, std::string& why,
                                                std::string_view timeout_flag = "timeout");

/// What every client sends with its events over `c`: its key and retries,
/// `system`, `program`'s User-Agent ("pulse-deploy/VERSION") and the
/// `Environment` header, which is the Go CLI's name for the CI it runs in
/// (detect_ci_name: the names the Pulse API knows; `_unknown_` elsewhere),
/// whichever client sends.
IngestionConfig ingestion_config(const ServerConnection& c, std::string system, std::string_view program,
                                 const Env& env);

}  // namespace pulse
