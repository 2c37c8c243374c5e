// Sends events to a Pulse-compatible ingestion API, with retries.
#pragma once

#include "core/event/event.hpp"
#include "core/net/http_client.hpp"
#include "core/net/retry.hpp"

#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace pulse {

struct IngestionConfig {
  std::string api_key;
  std::string system;
  std::string environment = "_unknown_";  ///< `Environment` header: the CI's name
  std::string cli_version = PULSE_VERSION;
  std::string user_agent = "pulse-event-cli/" PULSE_VERSION;
  RetryPolicy retry;
  bool allow_batch = true;  ///< use the batch extension where the server offers it
};

enum class Delivery {
  delivered,      ///< 2xx
  rejected,       ///< the server refused the event (4xx): resending will not help
  failed,         ///< no 2xx after every retry: network trouble or 5xx
  misconfigured,  ///< cannot be sent as configured (TLS verification): not retried
};

struct DeliveryResult {
  Delivery status = Delivery::delivered;
  int http_status = 0;  ///< last HTTP status, 0 if none arrived
  std::string reason;   ///< one line, secrets redacted; empty when delivered
  int attempts = 0;
  std::size_t delivered = 0;  ///< events stored, for send_all
};

/// Response header by which a collector offers the batch extension, with
/// the largest batch it takes. Servers that do not send it get one event
/// per request, exactly as the Go CLI sends them.
inline constexpr std::string_view kBatchHeader = "Pulse-Batch-Max";
/// Response header by which our collector names the extensions it takes
/// ("batch, deployments, patches").
inline constexpr std::string_view kExtensionsHeader = "Pulse-Extensions";
/// Whether a Pulse-Extensions value names `extension`.
bool offers_extension(std::string_view header_value, std::string_view extension);
inline constexpr std::string_view kIngestionPath = "/v1/ingestion/cli";
inline constexpr std::string_view kBatchPath = "/v1/ingestion/cli/batch";
/// Batches stop growing past this many bytes (servers take at least 1 MiB).
inline constexpr std::size_t kMaxBatchBytes = 768 * 1024;

/// Not thread-safe (it owns the use of one Transport).
class IngestionClient {
 public:
  using Logger = std::function<void(const std::string&)>;

  /// `transport` and `clock` are borrowed and must outlive the client.
  /// `log` receives one line per retry (the API key never appears in it).
  IngestionClient(Transport& transport, Clock& clock, IngestionConfig config, Logger log);

  /// Sends one event, retrying transient failures.
  DeliveryResult send(const Event& event);

  /// Sends events in order, over the transport's one connection; stops at
  /// the first event that is not delivered. Batches where the server offers
  /// it (after the first event, which also probes for the offer).
  DeliveryResult send_all(const std::vector<Event>& events);

  /// Sends one already encoded event body (as the outbox stores them).
  DeliveryResult send_body(std::string body);
  /// Sends already encoded bodies as one batch (the batch extension; the
  /// caller keeps within batch_limit() and kMaxBatchBytes): all delivered
  /// or none.
  DeliveryResult send_bodies(const std::vector<const std::string*>& bodies);

  /// Largest batch the server offered so far (0: none).
  std::size_t batch_limit() const { return batch_limit_; }

  /// Whether the server names `extension` in its Pulse-Extensions header, as
  /// far as its 2xx answers so far tell (nullopt: none came yet).
  std::optional<bool> offers(std::string_view extension) const;
  /// Asks the server (GET /healthz, once) when no answer has told its
  /// extensions yet.
  void learn_extensions();

 private:
  DeliveryResult post(std::string_view path, std::string body);

  Transport& transport_;
  Clock& clock_;
  IngestionConfig config_;
  Logger log_;
  std::mt19937_64 rng_;
  std::size_t batch_limit_ = 0;
  std::optional<std::string> extensions_;  ///< the last 2xx answer's Pulse-Extensions ("" without one)
};

/// One-line reason from an error response body: its JSON "error" or
/// "message" field, else its first line, cut to 200 characters.
std::string reason_from_body(std::string_view body);

}  // namespace pulse
