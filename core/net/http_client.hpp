// HTTP/1.1 client over TCP or TLS, with proxies, deadlines and keep-alive.
//
// This header is deliberately free of Asio/Beast: they are heavy to compile
// and only http_client.cpp needs them.
#pragma once

#include "core/util/env.hpp"
#include "core/net/retry.hpp"
#include "core/util/url.hpp"

#include <boost/system/error_code.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace pulse {

struct Header {
  std::string name;
  std::string value;
};

/// The first header named `name` (case-insensitive), if any.
std::optional<std::string> find_header(const std::vector<Header>& headers, std::string_view name);

struct HttpRequest {
  std::string method = "POST";
  std::string target;  ///< origin-form: "/path?query"
  std::vector<Header> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::vector<Header> headers;
  std::string body;
  /// First header named `name` (case-insensitive).
  std::optional<std::string> header(std::string_view name) const;
};

/// Deadlines of one request. Each step has its own; `total` bounds them all.
struct Timeouts {
  Millis connect{10'000};    ///< DNS + TCP connect (+ proxy CONNECT)
  Millis handshake{10'000};  ///< TLS handshake
  Millis write{10'000};      ///< sending the request
  Millis read{30'000};       ///< receiving the whole response
  Millis total{60'000};      ///< the whole request, all steps together
};

struct TlsOptions {
  std::string ca_file;    ///< PEM bundle to trust instead of the system store
  bool insecure = false;  ///< skip peer verification (never the default)
};

/// A forward proxy: where to connect, and optional basic credentials.
struct Proxy {
  Origin origin;
  std::string authorization;  ///< "Basic ..." or empty
};

struct ClientOptions {
  Timeouts timeouts;
  TlsOptions tls;
  std::optional<Proxy> proxy;
  std::size_t max_response_body = 1 << 20;
  /// 307 and 308 answers are followed with the same method and body, as Go
  /// and browsers do, up to this many hops (0: not followed); never from
  /// https to http. 301-303 are answers like any other.
  int max_redirects = 10;
  /// The proxy for another origin a redirect leads to (unset: none).
  std::function<std::optional<Proxy>(const Origin&)> proxy_for_origin;
};

/// Errors of the transport itself (network errors keep their own codes).
enum class transport_errc {
  proxy_refused = 1,   ///< the proxy answered CONNECT with a non-2xx status
  proxy_bad_reply,     ///< the proxy's answer was not HTTP
  response_too_large,  ///< the response body exceeded max_response_body
  too_many_redirects,  ///< more than max_redirects 307/308 hops
  insecure_redirect,   ///< a redirect from https to http
  bad_redirect,        ///< a 307/308 whose Location is not an http(s) URL
};
const boost::system::error_category& transport_category();
inline boost::system::error_code make_error_code(transport_errc e) {
  return {static_cast<int>(e), transport_category()};
}

/// Whether a failed request may succeed if sent again (connection refused,
/// reset, timeouts, DNS "try again"), as opposed to a configuration problem
/// (unknown host, TLS verification failure, proxy refusal).
bool is_retryable(const boost::system::error_code& ec);

/// Whether a failure is the caller's TLS configuration (certificate not
/// trusted, no common protocol): sending again cannot help, fixing it does.
bool is_configuration_error(const boost::system::error_code& ec);

/// A request that got no HTTP response: which step failed and why.
struct TransportFailure {
  boost::system::error_code ec;
  std::string step;  ///< "connect 127.0.0.1:8765", "TLS handshake with ...", ...
  bool retryable = true;
  /// The whole request was written before it failed (a read timeout, a
  /// reset): the server may have acted on it.
  bool request_sent = false;
  std::string message() const;
};

using SendResult = std::variant<HttpResponse, TransportFailure>;

/// Sends requests to one origin. Abstract so that tests can script it.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual SendResult send(const HttpRequest& request) = 0;
};

/// The real transport. Keeps one connection open between requests
/// (keep-alive) and reconnects transparently when the server closed it;
/// follows 307 and 308 (see ClientOptions::max_redirects), keeping a
/// connection to each origin it was sent to. `Timeouts::total` bounds one
/// send, redirects included. Not thread-safe: one instance per thread.
class HttpClient final : public Transport {
 public:
  HttpClient(Origin origin, ClientOptions options);
  ~HttpClient() override;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  SendResult send(const HttpRequest& request) override;

  /// Number of TCP connections opened so far (for tests and benchmarks).
  int connections_opened() const;

 private:
  struct Impl;
  Impl& at(const Origin& origin);

  std::unique_ptr<Impl> impl_;
  std::map<std::string, std::unique_ptr<Impl>> elsewhere_;  ///< origins redirects led to
};

/// The proxy to use for `target` from HTTPS_PROXY / HTTP_PROXY / NO_PROXY
/// (either case; lower case wins, as in curl). NO_PROXY holds host names,
/// domain suffixes (".example.com" or "example.com"), IP addresses, CIDR
/// blocks ("10.0.0.0/8"), or "*". Loopback (localhost, 127.0.0.0/8, ::1) is
/// never proxied, as in Go. Returns nullopt for a direct connection; sets
/// `why` if a variable is invalid.
std::optional<Proxy> proxy_for(const Origin& target, const Env& env, std::string& why);

/// proxy_for over a copy of `env`, for ClientOptions::proxy_for_origin (the
/// origins redirects lead to; the variables were checked for the first one).
std::function<std::optional<Proxy>(const Origin&)> proxies_from(Env env);

}  // namespace pulse

namespace boost::system {
template <>
struct is_error_code_enum<pulse::transport_errc> : std::true_type {};
}  // namespace boost::system
