#include "core/util/url.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <charconv>

namespace pulse {

std::string Origin::host_header() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + host + "]" : host;
  if (explicit_port) h += ":" + std::to_string(port);
  return h;
}

std::string Origin::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<Origin> parse_origin(std::string_view url, std::string& why) {
  auto r = boost::urls::parse_absolute_uri(url);
  if (!r) {
    // Allow a query or fragment, which parse_absolute_uri refuses.
    auto r2 = boost::urls::parse_uri(url);
    if (!r2) {
      why = "not a URL (expected e.g. https://collector.example.com)";
      return std::nullopt;
    }
    r = boost::urls::parse_absolute_uri(
        std::string_view(r2->buffer())
            .substr(0, r2->buffer().size() - (r2->has_fragment() ? r2->encoded_fragment().size() + 1 : 0) -
                           (r2->has_query() ? r2->encoded_query().size() + 1 : 0)));
    if (!r) {
      why = "not a URL (expected e.g. https://collector.example.com)";
      return std::nullopt;
    }
  }
  Origin o;
  const auto scheme = r->scheme_id();
  if (scheme == boost::urls::scheme::https) o.tls = true;
  else if (scheme != boost::urls::scheme::http) {
    why = "unsupported scheme \"" + std::string(r->scheme()) + "\" (use http:// or https://)";
    return std::nullopt;
  }
  if (r->has_userinfo()) {
    why = "credentials in the URL are not supported (use --api-key or PULSE_API_KEY)";
    return std::nullopt;
  }
  o.host = std::string(r->encoded_host());
  if (r->host_type() == boost::urls::host_type::ipv6) o.host = r->host_ipv6_address().to_string();
  if (o.host.empty()) {
    why = "no host in URL";
    return std::nullopt;
  }
  if (r->has_port()) {
    const auto p = r->port();
    unsigned v = 0;
    const auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc{} || ptr != p.data() + p.size() || v == 0 || v > 65535) {
      why = "invalid port \"" + std::string(p) + "\"";
      return std::nullopt;
    }
    o.port = static_cast<std::uint16_t>(v);
    o.explicit_port = true;
  } else {
    o.port = o.tls ? 443 : 80;
  }
  return o;
}

std::string form_escape(std::string_view s) {
  boost::urls::encoding_opts opt;
  opt.space_as_plus = true;
  // Go's QueryEscape keeps exactly the RFC 3986 unreserved characters.
  return boost::urls::encode(s, boost::urls::unreserved_chars, opt);
}

std::string ingestion_target(std::string_view api_key, std::string_view system, std::string_view path) {
  std::string t(path);
  t += "?api_key=";
  t += form_escape(api_key);
  if (!system.empty()) {
    t += "&system=";
    t += form_escape(system);
  }
  return t;
}

namespace {
void replace_all(std::string& text, std::string_view what) {
  if (what.empty()) return;
  for (std::size_t pos = 0; (pos = text.find(what, pos)) != std::string::npos;) {
    text.replace(pos, what.size(), "***");
    pos += 3;
  }
}
}  // namespace

std::string redact(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  replace_all(text, secret);
  replace_all(text, form_escape(secret));
  return text;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

std::optional<Target> parse_target(std::string_view target) {
  auto r = boost::urls::parse_uri_reference(target);
  if (!r) return std::nullopt;
  Target t;
  t.path = r->path();
  if (t.path.empty()) t.path = "/";
  t.query = std::string(r->encoded_query());
  return t;
}

std::optional<std::string> Target::param(std::string_view name) const {
  auto r = boost::urls::parse_query(query);
  if (!r) return std::nullopt;
  boost::urls::encoding_opts opt;
  opt.space_as_plus = true;  // form encoding, as every HTTP client sends it
  const boost::urls::params_view params(std::string_view(query), opt);
  for (const auto& p : params) {
    if (p.key == name) return p.has_value ? p.value : std::string();
  }
  return std::nullopt;
}

}  // namespace pulse
