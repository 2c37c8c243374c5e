#include "core/client/connection.hpp"

#include "core/git/ci.hpp"
#include "core/util/text.hpp"

#include <algorithm>
#include <fstream>

namespace pulse {

std::vector<FlagSpec> connection_flags(std::string_view base_url_help) {
  return {
      {"base-url", "URL", base_url_help, false, "PULSE_BASE_URL", kDefaultBaseUrl},
      {.name = "api-key",
       .value_name = "KEY",
       .help = "API key (prefer $PULSE_API_KEY: argv is visible in ps)",
       .env = "PULSE_API_KEY",
       .secret = true},
      {"api-key-file", "FILE", "read the API key from FILE (first line)", false, "PULSE_API_KEY_FILE"},
      {"ca-file", "FILE", "trust this PEM CA bundle instead of the system store", false, "PULSE_CA_FILE"},
      {"insecure", "", "do not verify the server's TLS certificate (unsafe)", false, "PULSE_INSECURE"},
      {"timeout", "SECONDS", "bound on each request, all steps together (waiting for the answer included)", false,
       "PULSE_TIMEOUT", "60"},
      {"max-attempts", "N", "attempts per request, retries included", false, "PULSE_MAX_ATTEMPTS", "5"},
  };
}

std::optional<ServerConnection> read_connection(const ParsedArgs& a, const Env& env, std::string& why,
                                                std::string_view timeout_flag) {
  ServerConnection c;
  c.base_url = a.get_or("base-url", kDefaultBaseUrl);
  const auto origin = parse_origin(c.base_url, why);
  if (!origin) {
    why = "--base-url: " + why;
    return std::nullopt;
  }
  c.origin = *origin;
  c.api_key = a.get_or("api-key", "");
  if (const auto file = a.get("api-key-file"); file && !file->empty()) {
    if (!c.api_key.empty()) {
      why = "--api-key and --api-key-file (or $PULSE_API_KEY and $PULSE_API_KEY_FILE) both give a key: give one";
      return std::nullopt;
    }
    const auto key = read_first_line(*file);
    if (!key) {
      why = "--api-key-file: cannot read " + *file;
      return std::nullopt;
    }
    c.api_key = *key;
    c.api_key_file = *file;
  }
  c.client.tls.ca_file = a.get_or("ca-file", "");
  c.client.tls.insecure = a.flag("insecure");
  if (c.client.tls.insecure && !c.client.tls.ca_file.empty()) {
    why = "--insecure and --ca-file contradict each other (verify nothing, or verify with this CA?): give one";
    return std::nullopt;
  }
  if (!c.client.tls.ca_file.empty() && !std::ifstream(c.client.tls.ca_file)) {
    why = "--ca-file: cannot read " + c.client.tls.ca_file;
    return std::nullopt;
  }
  unsigned long timeout = 0, attempts = 0;
  if (!parse_uint(a.get_or(timeout_flag, "60"), 3600, timeout) || timeout == 0) {
    why = "--" + std::string(timeout_flag) + ": must be between 1 and 3600 seconds";
    return std::nullopt;
  }
  if (!parse_uint(a.get_or("max-attempts", "5"), 20, attempts) || attempts == 0) {
    why = "--max-attempts: must be between 1 and 20";
    return std::nullopt;
  }
  c.client.timeouts.total = std::chrono::milliseconds(timeout * 1000);
  // The answer may take as long as the request may: a slow collector that
  // stores the event and answers late is a success, not a retry.
  c.client.timeouts.read = c.client.timeouts.total;
  c.retry.max_attempts = static_cast<int>(attempts);
  c.retry.max_total = std::max(std::chrono::milliseconds(60'000), c.client.timeouts.total);
  c.client.proxy = proxy_for(c.origin, env, why);
  if (!why.empty()) return std::nullopt;
  c.client.proxy_for_origin = proxies_from(env);
  return c;
}

IngestionConfig ingestion_config(const ServerConnection& c, std::string system, std::string_view program,
                                 const Env& env) {
  IngestionConfig config;
  config.api_key = c.api_key;
  config.system = std::move(system);
  config.environment = detect_ci_name(env);
  config.user_agent = std::string(program) + "/" PULSE_VERSION;
  config.retry = c.retry;
  return config;
}

}  // namespace pulse
