#include "core/net/http_client.hpp"

#include "core/util/text.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace pulse {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using beast::error_code;

// ---- errors ---------------------------------------------------------------

namespace {
class TransportCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "pulse.transport"; }
  std::string message(int ev) const override {
    switch (static_cast<transport_errc>(ev)) {
      case transport_errc::proxy_refused:
        return "proxy refused the tunnel";
      case transport_errc::proxy_bad_reply:
        return "proxy sent an invalid reply";
      case transport_errc::response_too_large:
        return "response body too large";
      case transport_errc::too_many_redirects:
        return "too many redirects";
      case transport_errc::insecure_redirect:
        return "refused: it leads from https to http";
      case transport_errc::bad_redirect:
        return "its Location is not an http(s) URL";
    }
    return "unknown transport error";
  }
};
}  // namespace

const boost::system::error_category& transport_category() {
  static const TransportCategory cat;
  return cat;
}

bool is_retryable(const boost::system::error_code& ec) {
  if (!ec) return false;
  if (ec.category() == transport_category()) return false;
  if (ec == asio::ssl::error::stream_truncated) return true;
  if (ec.category() == asio::error::get_ssl_category()) return false;  // TLS config/verification
  if (ec == asio::error::host_not_found) return false;                 // no such host: a typo
  if (ec == http::error::body_limit || ec == http::error::header_limit) return false;
  return true;  // refused, reset, unreachable, timeouts, EOF, DNS try-again
}

bool is_configuration_error(const boost::system::error_code& ec) {
  if (ec == asio::ssl::error::stream_truncated) return false;
  return ec.category() == asio::error::get_ssl_category();
}

std::string TransportFailure::message() const {
  std::string why = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    // OpenSSL reasons are terse; point at the fix for the common one.
    if (ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED)
      why += " (the server's certificate is not trusted: use --ca-file for a private CA)";
  }
  if (ec == beast::error::timeout) why = "timed out";
  return step + ": " + why;
}

std::optional<std::string> find_header(const std::vector<Header>& headers, std::string_view name) {
  for (const auto& h : headers)
    if (beast::iequals(h.name, name)) return h.value;
  return std::nullopt;
}

std::optional<std::string> HttpResponse::header(std::string_view name) const { return find_header(headers, name); }

// ---- client ---------------------------------------------------------------

struct HttpClient::Impl {
  Origin origin;
  ClientOptions opt;
  asio::io_context ioc;
  std::optional<asio::ssl::context> ssl_ctx;  // made by tls_context()
  std::string ssl_ctx_error;                  // set if the CA file could not be loaded
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  int connections = 0;
  std::chrono::steady_clock::time_point deadline;

  Impl(Origin o, ClientOptions op) : origin(std::move(o)), opt(std::move(op)) {}

  // The TLS context, made on the first https connection: reading the
  // system's trust store costs more than a whole plain-http call.
  asio::ssl::context& tls_context() {
    if (ssl_ctx) return *ssl_ctx;
    ssl_ctx.emplace(asio::ssl::context::tls_client);
    ssl_ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    error_code ec;
    if (!opt.tls.ca_file.empty()) {
      ssl_ctx->load_verify_file(opt.tls.ca_file, ec);
      if (ec) ssl_ctx_error = "load CA file " + opt.tls.ca_file + ": " + ec.message();
    } else {
      ssl_ctx->set_default_verify_paths(ec);  // OpenSSL's own ($SSL_CERT_FILE, $SSL_CERT_DIR, its build's directory)
      if (ec) ssl_ctx_error = "load system trust store: " + ec.message();
      else load_host_bundle();
    }
    return *ssl_ctx;
  }

  // The host's CA bundle where distributions keep it: a static build's
  // OpenSSL only knows Debian's directory (/usr/lib/ssl), which Fedora and
  // Alpine lack. $SSL_CERT_FILE and $SSL_CERT_DIR still choose.
  void load_host_bundle() {
    if (std::getenv("SSL_CERT_FILE") || std::getenv("SSL_CERT_DIR")) return;
    static constexpr const char* kBundles[] = {
        "/etc/ssl/certs/ca-certificates.crt",                 // Debian, Ubuntu, Alpine, Arch
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // Fedora, RHEL
        "/etc/pki/tls/certs/ca-bundle.crt",                   // older Fedora, RHEL
        "/etc/ssl/ca-bundle.pem",                             // openSUSE
        "/etc/ssl/cert.pem",                                  // Alpine, BSDs
    };
    for (const char* bundle : kBundles) {
      if (::access(bundle, R_OK) != 0) continue;
      error_code ignored;  // a broken bundle leaves what the defaults gave
      ssl_ctx->load_verify_file(bundle, ignored);
      return;
    }
  }

  bool is_open() const { return plain || tls; }

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  void close() {
    error_code ignored;
    if (tls) beast::get_lowest_layer(*tls).socket().close(ignored);
    if (plain) plain->socket().close(ignored);
    tls.reset();
    plain.reset();
    buffer.clear();
  }

  // Remaining budget for one step: its own timeout, cut by the total deadline.
  std::chrono::steady_clock::duration budget(Millis step) const {
    const auto left = deadline - std::chrono::steady_clock::now();
    return std::max<std::chrono::steady_clock::duration>(std::min<std::chrono::steady_clock::duration>(step, left),
                                                         std::chrono::milliseconds(1));
  }

  std::string where() const { return origin.host + ":" + std::to_string(origin.port); }

  // A connection to the origin (through the proxy if there is one, with
  // TLS if the origin's scheme is https); `fail` says what failed.
  asio::awaitable<void> connect(TransportFailure& fail) {
    const Origin& hop = opt.proxy ? opt.proxy->origin : origin;
    const std::string hop_name = (opt.proxy ? "proxy " : "") + hop.host + ":" + std::to_string(hop.port);
    auto stream = co_await open_tcp(hop, hop_name, fail);
    if (!stream) co_return;
    if (opt.proxy && origin.tls && !co_await open_tunnel(*stream, hop_name, fail)) co_return;
    if (!origin.tls) {
      plain = std::move(stream);
      co_return;
    }
    co_await start_tls(std::move(stream), fail);
  }

  // Resolves and connects to `hop` within the connect timeout. The resolver
  // has no deadline of its own: a timer cancels it.
  asio::awaitable<std::unique_ptr<beast::tcp_stream>> open_tcp(const Origin& hop, const std::string& hop_name,
                                                               TransportFailure& fail) {
    error_code ec;
    auto redirect = asio::redirect_error(asio::use_awaitable, ec);
    std::vector<tcp::endpoint> endpoints;
    error_code literal_ec;
    const auto literal = asio::ip::make_address(hop.host, literal_ec);
    if (!literal_ec) {
      endpoints.emplace_back(literal, hop.port);  // an address: no resolver (and no resolver thread)
    } else {
      tcp::resolver resolver(ioc);
      asio::steady_timer timer(ioc, budget(opt.timeouts.connect));
      timer.async_wait([&resolver](error_code e) {
        if (!e) resolver.cancel();
      });
      const auto resolved = co_await resolver.async_resolve(hop.host, std::to_string(hop.port), redirect);
      timer.cancel();
      if (ec) {
        if (ec == asio::error::operation_aborted) ec = beast::error::timeout;
        fail = {ec, "resolve " + hop.host, is_retryable(ec)};
        co_return nullptr;
      }
      for (const auto& entry : resolved) endpoints.push_back(entry.endpoint());
    }
    auto stream = std::make_unique<beast::tcp_stream>(ioc);
    stream->expires_after(budget(opt.timeouts.connect));
    co_await stream->async_connect(endpoints, redirect);
    if (ec) {
      fail = {ec, "connect " + hop_name, is_retryable(ec)};
      co_return nullptr;
    }
    stream->socket().set_option(tcp::no_delay(true), ec);
    ++connections;
    co_return stream;
  }

  // HTTPS through a proxy: a tunnel opened with CONNECT, for TLS inside it.
  asio::awaitable<bool> open_tunnel(beast::tcp_stream& stream, const std::string& hop_name, TransportFailure& fail) {
    error_code ec;
    auto redirect = asio::redirect_error(asio::use_awaitable, ec);
    const std::string authority = origin.host_header().find(':') == std::string::npos
                                      ? origin.host + ":" + std::to_string(origin.port)
                                      : origin.host_header();
    http::request<http::empty_body> req{http::verb::connect, authority, 11};
    req.set(http::field::host, authority);
    if (!opt.proxy->authorization.empty()) req.set(http::field::proxy_authorization, opt.proxy->authorization);
    stream.expires_after(budget(opt.timeouts.connect));
    co_await http::async_write(stream, req, redirect);
    http::response_parser<http::empty_body> parser;
    parser.skip(true);  // a 2xx answer to CONNECT has no body
    if (!ec) co_await http::async_read_header(stream, buffer, parser, redirect);
    if (ec) {
      fail = {ec, "open tunnel through " + hop_name, is_retryable(ec)};
      co_return false;
    }
    const int status = parser.get().result_int();
    if (status / 100 != 2) {
      const bool transient = status == 502 || status == 503 || status == 504;
      fail = {make_error_code(transport_errc::proxy_refused),
              hop_name + " answered " + std::to_string(status) + " to CONNECT " + authority, transient};
      co_return false;
    }
    buffer.clear();
    co_return true;
  }

  // The TLS handshake on a connected stream: the origin's name checked
  // against its certificate (unless --insecure), sent as SNI if a name.
  asio::awaitable<void> start_tls(std::unique_ptr<beast::tcp_stream> stream, TransportFailure& fail) {
    auto& context = tls_context();
    if (!ssl_ctx_error.empty()) {
      fail = {asio::error::invalid_argument, ssl_ctx_error, false};
      co_return;
    }
    error_code ec;
    tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*stream), context);
    error_code addr_ec;
    asio::ip::make_address(origin.host, addr_ec);
    if (addr_ec) SSL_set_tlsext_host_name(tls->native_handle(), origin.host.c_str());  // SNI: names only
    if (opt.tls.insecure) {
      tls->set_verify_mode(asio::ssl::verify_none);
    } else {
      tls->set_verify_mode(asio::ssl::verify_peer);
      tls->set_verify_callback(asio::ssl::host_name_verification(origin.host));
    }
    beast::get_lowest_layer(*tls).expires_after(budget(opt.timeouts.handshake));
    co_await tls->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      tls.reset();
      fail = {ec, "TLS handshake with " + where(), is_retryable(ec)};
    }
  }

  template <class Stream>
  asio::awaitable<void> exchange(Stream& stream, http::request<http::string_body>& req, HttpResponse& out,
                                 bool& got_bytes, TransportFailure& fail) {
    error_code ec;
    auto redirect = asio::redirect_error(asio::use_awaitable, ec);
    lowest().expires_after(budget(opt.timeouts.write));
    co_await http::async_write(stream, req, redirect);
    if (ec) {
      fail = {ec, "send request to " + where(), is_retryable(ec)};
      co_return;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(opt.max_response_body);
    parser.header_limit(64 * 1024);
    lowest().expires_after(budget(opt.timeouts.read));
    co_await http::async_read_header(stream, buffer, parser, redirect);
    got_bytes = parser.got_some();
    if (!ec) co_await http::async_read(stream, buffer, parser, redirect);
    if (ec) {
      if (ec == http::error::body_limit) ec = make_error_code(transport_errc::response_too_large);
      fail = {ec, "read response from " + where(), is_retryable(ec), true};
      co_return;
    }
    auto& res = parser.get();
    out.status = res.result_int();
    for (const auto& f : res) out.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    out.body = std::move(res.body());
    if (!res.keep_alive()) close();
  }

  asio::awaitable<void> send(const HttpRequest& request, SendResult& result) {
    http::request<http::string_body> req;
    req.method_string(request.method);
    // Plain HTTP through a proxy uses the absolute form of the target.
    req.target(opt.proxy && !origin.tls ? std::string("http://") + origin.host_header() + request.target
                                        : request.target);
    req.version(11);
    req.set(http::field::host, origin.host_header());
    if (opt.proxy && !origin.tls && !opt.proxy->authorization.empty())
      req.set(http::field::proxy_authorization, opt.proxy->authorization);
    for (const auto& h : request.headers) req.set(h.name, h.value);
    req.body() = request.body;
    req.prepare_payload();

    for (int round = 0; round < 2; ++round) {
      const bool reused = is_open();
      TransportFailure fail;
      if (!reused) {
        co_await connect(fail);
        if (fail.ec) {
          close();
          result = fail;
          co_return;
        }
      }
      HttpResponse response;
      bool got_bytes = false;
      if (tls) co_await exchange(*tls, req, response, got_bytes, fail);
      else co_await exchange(*plain, req, response, got_bytes, fail);
      if (!fail.ec) {
        result = std::move(response);
        co_return;
      }
      close();
      // A kept-alive connection that the server closed meanwhile fails before
      // any byte of an answer: open a fresh one, once. (Events are idempotent
      // at the receiver, so a resend is harmless even if the first arrived.)
      if (reused && !got_bytes && fail.ec != beast::error::timeout) continue;
      result = fail;
      co_return;
    }
  }
};

HttpClient::HttpClient(Origin origin, ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(origin), std::move(options))) {}

HttpClient::~HttpClient() = default;

int HttpClient::connections_opened() const { return impl_->connections; }

namespace {

// Where a 307/308's Location leads from `from` + `target`: its origin and
// origin-form target; false if it is no http(s) URL.
bool resolve_redirect(const Origin& from, const std::string& target, std::string_view location, Origin& to,
                      std::string& to_target) {
  const std::string base_url = from.to_string() + target;  // the views below point into it
  const auto base = boost::urls::parse_uri(base_url);
  const auto ref = boost::urls::parse_uri_reference(location);
  if (!base || !ref) return false;
  boost::urls::url dest;
  if (boost::urls::resolve(*base, *ref, dest).has_error()) return false;
  if (dest.scheme_id() != boost::urls::scheme::http && dest.scheme_id() != boost::urls::scheme::https) return false;
  std::string why;
  const std::string dest_origin = std::string(dest.scheme()) + "://" + std::string(dest.encoded_host_and_port());
  const auto origin = parse_origin(dest_origin, why);
  if (!origin || dest.has_userinfo()) return false;
  to = *origin;
  to_target = std::string(dest.encoded_target());
  if (to_target.empty() || to_target[0] != '/') to_target.insert(0, "/");
  return true;
}

// A URL for messages: origin and path, never the query (it may hold a key).
std::string shown(const Origin& origin, std::string_view target) {
  return origin.to_string() + std::string(target.substr(0, target.find('?')));
}

}  // namespace

HttpClient::Impl& HttpClient::at(const Origin& origin) {
  const std::string key = origin.to_string();
  if (key == impl_->origin.to_string()) return *impl_;
  auto& impl = elsewhere_[key];
  if (!impl) {
    ClientOptions options = impl_->opt;
    options.proxy = options.proxy_for_origin ? options.proxy_for_origin(origin) : std::nullopt;
    impl = std::make_unique<Impl>(origin, std::move(options));
  }
  return *impl;
}

SendResult HttpClient::send(const HttpRequest& request) {
  const auto deadline = std::chrono::steady_clock::now() + impl_->opt.timeouts.total;
  Impl* impl = impl_.get();
  std::optional<HttpRequest> redirected;  // the request as a redirect changed it
  for (int hop = 0;; ++hop) {
    const HttpRequest& req = redirected ? *redirected : request;
    SendResult result = TransportFailure{asio::error::operation_aborted, "send", false};
    impl->deadline = deadline;
    impl->ioc.restart();
    asio::co_spawn(impl->ioc, impl->send(req, result), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    impl->ioc.run();

    const auto* res = std::get_if<HttpResponse>(&result);
    if (!res || (res->status != 307 && res->status != 308) || impl_->opt.max_redirects <= 0) return result;
    const auto location = res->header("Location");
    if (!location) return result;
    const std::string from = shown(impl->origin, req.target);
    if (hop >= impl_->opt.max_redirects)
      return TransportFailure{
          make_error_code(transport_errc::too_many_redirects),
          "follow redirects from " + shown(impl_->origin, request.target) + " (" + std::to_string(hop) + " followed)",
          false};
    Origin next;
    std::string target;
    if (!resolve_redirect(impl->origin, req.target, *location, next, target))
      return TransportFailure{make_error_code(transport_errc::bad_redirect),
                              "follow the " + std::to_string(res->status) + " redirect from " + from, false};
    if (impl->origin.tls && !next.tls)
      return TransportFailure{make_error_code(transport_errc::insecure_redirect),
                              "follow the redirect from " + from + " to " + shown(next, target), false};
    if (!redirected) redirected = request;
    redirected->target = std::move(target);
    if (next.to_string() != impl->origin.to_string())  // credentials stay with their origin, as in Go
      std::erase_if(redirected->headers, [](const Header& h) {
        return beast::iequals(h.name, "Authorization") || beast::iequals(h.name, "Cookie");
      });
    impl = &at(next);
  }
}

// ---- proxy selection ------------------------------------------------------

namespace {

// Whether IP address `host` lies in the CIDR block `cidr` ("10.0.0.0/8", "fd00::/8").
bool in_cidr(const std::string& host, const std::string& cidr) {
  error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) return false;
  if (addr.is_v4()) {
    const auto net = asio::ip::make_network_v4(cidr, ec);
    return !ec && asio::ip::network_v4(addr.to_v4(), net.prefix_length()).canonical() == net.canonical();
  }
  const auto net = asio::ip::make_network_v6(cidr, ec);
  return !ec && asio::ip::network_v6(addr.to_v6(), net.prefix_length()).canonical() == net.canonical();
}

bool no_proxy_matches(std::string_view list, const std::string& host) {
  const std::string h = lower(host);
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto comma = list.find(',', start);
    std::string entry = lower(trim(list.substr(start, comma == std::string_view::npos ? list.npos : comma - start)));
    start = comma == std::string_view::npos ? list.size() + 1 : comma + 1;
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (entry.find('/') != std::string::npos) {
      if (in_cidr(h, entry)) return true;
      continue;
    }
    if (entry.starts_with("[")) {  // "[::1]" or "[::1]:8080"
      const auto close = entry.find(']');
      entry = entry.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
      entry = entry.substr(0, entry.find(':'));  // "host:port": ports are not compared
    }
    if (entry.starts_with("*.")) entry.erase(0, 1);
    if (entry.starts_with(".")) entry.erase(0, 1);
    if (h == entry) return true;
    if (h.size() > entry.size() && h.ends_with(entry) && h[h.size() - entry.size() - 1] == '.') return true;
  }
  return false;
}

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

std::optional<Proxy> proxy_for(const Origin& target, const Env& env, std::string& why) {
  auto pick = [&env](const char* lower_name, const char* upper_name) {
    if (auto v = env.non_empty(lower_name)) return v;
    return env.non_empty(upper_name);
  };
  const char* var_name = target.tls ? "HTTPS_PROXY" : "HTTP_PROXY";
  const auto value = target.tls ? pick("https_proxy", "HTTPS_PROXY") : pick("http_proxy", "HTTP_PROXY");
  if (!value || is_loopback_host(target.host)) return std::nullopt;  // Go never proxies loopback either
  if (const auto no = pick("no_proxy", "NO_PROXY"); no && no_proxy_matches(*no, target.host)) return std::nullopt;

  std::string url = *value;
  if (url.find("://") == std::string::npos) url = "http://" + url;
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    why = std::string(var_name) + " is not a URL";
    return std::nullopt;
  }
  if (parsed->scheme_id() != boost::urls::scheme::http) {
    why = std::string(var_name) + ": only http:// proxies are supported";
    return std::nullopt;
  }
  std::string origin_why;
  std::string without_userinfo = "http://" + std::string(parsed->encoded_host_and_port());
  auto origin = parse_origin(without_userinfo, origin_why);
  if (!origin) {
    why = std::string(var_name) + ": " + origin_why;
    return std::nullopt;
  }
  if (!origin->explicit_port) origin->port = 1080;  // curl's default proxy port
  Proxy proxy{*origin, {}};
  if (parsed->has_userinfo()) proxy.authorization = "Basic " + base64(parsed->user() + ":" + parsed->password());
  return proxy;
}

std::function<std::optional<Proxy>(const Origin&)> proxies_from(Env env) {
  return [env = std::move(env)](const Origin& to) {
    std::string ignored;
    return proxy_for(to, env, ignored);
  };
}

}  // namespace pulse
