#include "core/client/ingestion.hpp"

#include "core/util/text.hpp"

#include "core/util/url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cstdio>

namespace pulse {

IngestionClient::IngestionClient(Transport& transport, Clock& clock, IngestionConfig config, Logger log)
    : transport_(transport),
      clock_(clock),
      config_(std::move(config)),
      log_(std::move(log)),
      rng_(std::random_device{}()) {}

std::string reason_from_body(std::string_view body) {
  std::string reason;
  boost::system::error_code ec;
  if (body.size() < 64 * 1024) {
    const auto v = boost::json::parse(body, ec);
    if (!ec && v.is_object()) {
      for (const char* key : {"error", "message"}) {
        if (const auto* f = v.as_object().if_contains(key); f && f->is_string()) {
          reason = std::string(f->as_string());
          break;
        }
      }
    }
  }
  if (reason.empty()) reason = std::string(body.substr(0, body.find('\n')));
  for (auto& c : reason)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  if (reason.size() > 200) reason = reason.substr(0, 200) + "...";
  return reason;
}

namespace {
std::string seconds_text(Millis d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(d.count()) / 1000.0);
  return buf;
}
}  // namespace

DeliveryResult IngestionClient::post(std::string_view path, std::string body) {
  HttpRequest req;
  req.method = "POST";
  req.target = ingestion_target(config_.api_key, config_.system, path);
  req.headers = {{"User-Agent", config_.user_agent},
                 {"Cli-Version", config_.cli_version},
                 {"Content-Type", "application/json"},
                 {"Environment", config_.environment}};
  req.body = std::move(body);

  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto start = clock_.now();
  DeliveryResult result;
  bool maybe_stored = false;  // an attempt failed after the server had the whole request
  for (int attempt = 1;; ++attempt) {
    result.attempts = attempt;
    const SendResult sent = transport_.send(req);
    std::optional<Millis> server_wait;
    bool retryable = false;
    if (const auto* res = std::get_if<HttpResponse>(&sent)) {
      result.http_status = res->status;
      if (res->status / 100 == 2) {
        // Only the server's own answers tell: a proxy's 502 says nothing of it.
        extensions_ = res->header(kExtensionsHeader).value_or("");
        if (const auto offer = res->header(kBatchHeader)) {
          std::size_t n = 0;
          std::from_chars(offer->data(), offer->data() + offer->size(), n);
          batch_limit_ = std::min<std::size_t>(n, 10'000);
        }
        result.status = Delivery::delivered;
        result.reason.clear();
        return result;
      }
      const std::string why = redact(reason_from_body(res->body), config_.api_key);
      retryable = is_retryable_status(res->status);
      if (res->status / 100 == 4 && !retryable) {
        result.status = Delivery::rejected;
        result.reason = "server rejected event (" + std::to_string(res->status) + ")" + (why.empty() ? "" : ": " + why);
        return result;
      }
      result.status = Delivery::failed;
      result.reason = "server error (" + std::to_string(res->status) + ")" + (why.empty() ? "" : ": " + why);
      if (const auto ra = res->header("Retry-After")) server_wait = parse_retry_after(*ra, clock_.wall_now());
    } else {
      const auto& fail = std::get<TransportFailure>(sent);
      // Sent, no answer: it is sent again, which is safe because a Pulse
      // collector stores each event once (by type and identifier).
      maybe_stored = maybe_stored || fail.request_sent;
      retryable = fail.retryable;
      result.status = is_configuration_error(fail.ec) ? Delivery::misconfigured : Delivery::failed;
      result.http_status = 0;
      result.reason = redact(fail.message(), config_.api_key);
    }

    if (!retryable || attempt >= config_.retry.max_attempts) break;
    Millis wait = backoff_delay(config_.retry, attempt + 1, [&] { return unit(rng_); });
    if (server_wait) wait = std::max(wait, *server_wait);
    const auto elapsed = std::chrono::duration_cast<Millis>(clock_.now() - start);
    if (elapsed + wait > config_.retry.max_total) {
      if (server_wait && *server_wait > wait / 2)
        result.reason += " (server asked to retry after " + seconds_text(*server_wait) + ")";
      break;
    }
    if (log_)
      log_("attempt " + std::to_string(attempt) + " failed: " + result.reason + "; retrying in " + seconds_text(wait));
    clock_.sleep_for(wait);
  }
  if (result.attempts > 1)
    result.reason = "gave up after " + std::to_string(result.attempts) + " attempts: " + result.reason;
  if (maybe_stored)
    result.reason += " (the server may have stored it anyway: sending it again is safe, each event is stored once)";
  return result;
}

DeliveryResult IngestionClient::send(const Event& event) {
  auto r = post(kIngestionPath, encode_body(event));
  if (r.status == Delivery::delivered) r.delivered = 1;
  return r;
}

bool offers_extension(std::string_view header_value, std::string_view extension) {
  for (const auto& token : split_list(std::string(header_value)))
    if (token == extension) return true;
  return false;
}

std::optional<bool> IngestionClient::offers(std::string_view extension) const {
  if (!extensions_) return std::nullopt;
  return offers_extension(*extensions_, extension);
}

void IngestionClient::learn_extensions() {
  if (extensions_) return;
  const auto r = transport_.send(HttpRequest{"GET", "/healthz", {}, ""});
  if (const auto* res = std::get_if<HttpResponse>(&r); res && res->status / 100 == 2)
    extensions_ = res->header(kExtensionsHeader).value_or("");
}

DeliveryResult IngestionClient::send_body(std::string body) {
  auto r = post(kIngestionPath, std::move(body));
  if (r.status == Delivery::delivered) r.delivered = 1;
  return r;
}

DeliveryResult IngestionClient::send_bodies(const std::vector<const std::string*>& bodies) {
  if (bodies.size() == 1) return send_body(*bodies.front());
  std::size_t size = 2;
  for (const auto* b : bodies) size += b->size() + 1;
  std::string batch;
  batch.reserve(size);
  batch += '[';
  for (const auto* b : bodies) {
    if (batch.size() > 1) batch += ',';
    batch += *b;
  }
  batch += ']';
  auto r = post(kBatchPath, std::move(batch));
  if (r.status == Delivery::delivered) r.delivered = bodies.size();
  return r;
}

DeliveryResult IngestionClient::send_all(const std::vector<Event>& events) {
  DeliveryResult total;
  std::size_t i = 0;
  while (i < events.size()) {
    const std::size_t batch = config_.allow_batch ? batch_limit_ : 0;
    DeliveryResult r;
    std::size_t n = 1;
    if (batch > 1 && events.size() - i > 1) {
      // Up to `batch` events and about kMaxBatchBytes: a batch stays well
      // inside the server's body limit even with large deployments.
      std::string body = "[";
      n = 0;
      while (n < batch && i + n < events.size()) {
        std::string one = encode_body(events[i + n]);
        if (n > 0 && body.size() + one.size() + 2 > kMaxBatchBytes) break;
        if (n) body += ',';
        body += one;
        ++n;
      }
      body += ']';
      r = post(n == 1 ? kIngestionPath : kBatchPath, n == 1 ? encode_body(events[i]) : std::move(body));
    } else {
      r = post(kIngestionPath, encode_body(events[i]));
    }
    total.attempts += r.attempts;
    total.http_status = r.http_status;
    if (r.status != Delivery::delivered) {
      total.status = r.status;
      total.reason = r.reason;
      return total;
    }
    i += n;
    total.delivered = i;
  }
  return total;
}

}  // namespace pulse
