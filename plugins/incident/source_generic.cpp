// Any JSON source, through a mapping file of JSON Pointers.
#include "plugins/incident/model.hpp"
#include "plugins/incident/routing.hpp"
#include "core/util/strict_json.hpp"
#include "core/util/timeutil.hpp"

#include <charconv>
#include <fstream>
#include <stdexcept>

namespace pulse::incident {

namespace {

const boost::json::value* at_pointer(const boost::json::value& root, const std::string& pointer) {
  boost::system::error_code ec;
  const auto* v = root.find_pointer(pointer, ec);
  return ec ? nullptr : v;
}

bool time_of(const boost::json::value& v, const std::string& format, std::int64_t& out) {
  if (format == "rfc3339") {
    if (!v.is_string() || v.as_string().size() > 64) return false;
    const auto t = parse_rfc3339(v.as_string());
    if (!t) return false;
    out = *t;
  } else {
    std::int64_t raw = 0;
    if (v.is_int64()) raw = v.as_int64();
    else if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
      raw = static_cast<std::int64_t>(v.as_uint64());
    else if (v.is_string()) {
      const auto& s = v.as_string();
      // Digits only, within int64 (20 nines would throw from std::stoll).
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), raw);
      if (s.empty() || s[0] == '-' || ec != std::errc{} || end != s.data() + s.size()) return false;
    } else return false;
    const std::int64_t div = format == "unix_ms" ? 1000 : format == "unix_ns" ? 1'000'000'000 : 1;
    out = raw / div;
  }
  return plausible_time(out);
}

bool one_of(const std::string& value, const std::vector<std::string>& set) {
  for (const auto& s : set)
    if (s == value) return true;
  return false;
}

// The mapping's optional pointers: labels (an object of strings), system
// and environment (strings). Absent values are fine; wrong ones are errors.
bool optional_fields(const boost::json::value& payload, const GenericMapping& m, Observation& o, std::string& why) {
  if (!m.labels.empty())
    if (const auto* labels = at_pointer(payload, m.labels)) {
      if (!labels->is_object()) {
        why = m.labels + ": must be an object of labels";
        return false;
      }
      add_labels(labels->as_object(), o.labels);
    }
  for (auto [pointer, out] : {std::pair{&m.system, &o.system}, std::pair{&m.environment, &o.environment}}) {
    if (pointer->empty()) continue;
    const auto* v = at_pointer(payload, *pointer);
    if (!v || v->is_null()) continue;
    if (!v->is_string() || !valid_name(v->as_string())) {
      why = *pointer + ": not 1 to 256 bytes of text without control characters";
      return false;
    }
    *out = std::string(v->as_string());
  }
  return true;
}

}  // namespace

bool parse_generic(const boost::json::value& payload, const GenericMapping* m, ParseResult& out, std::string& why) {
  if (!m) {
    why = "no mapping configured for the generic route (--generic-mapping)";
    return false;
  }
  if (!payload.is_object()) {
    why = "body: must be a JSON object";
    return false;
  }
  Observation o;
  const auto* id = at_pointer(payload, m->identifier);
  if (!id || !id->is_string() || !valid_identity(id->as_string())) {
    why = m->identifier + ": missing or not 1 to 256 printable ASCII characters";
    return false;
  }
  o.key = std::string(id->as_string());
  const auto* status = at_pointer(payload, m->status);
  if (!status || !status->is_string()) {
    why = m->status + ": missing or not a string";
    return false;
  }
  const std::string st(status->as_string());
  const auto* created = at_pointer(payload, m->created);
  if (!created || !time_of(*created, m->time_format, o.created)) {
    why = m->created + ": missing or not a " + m->time_format + " time between 2000 and 2100";
    return false;
  }
  if (one_of(st, m->firing_values)) {
    o.status = Status::firing;
  } else if (one_of(st, m->resolved_values)) {
    std::int64_t r = 0;
    const auto* resolved = at_pointer(payload, m->resolved);
    if (!resolved || !time_of(*resolved, m->time_format, r)) {
      why = m->resolved + ": missing or not a " + m->time_format + " time between 2000 and 2100";
      return false;
    }
    if (r < o.created) {
      why = m->resolved + ": before " + m->created;
      return false;
    }
    o.status = Status::resolved;
    o.resolved = r;
  } else {
    out.ignored_reason = "status \"" + st.substr(0, 40) + "\" is neither firing nor resolved";
    return true;
  }
  if (!optional_fields(payload, *m, o, why)) return false;
  out.observations.push_back(std::move(o));
  return true;
}

GenericMapping load_mapping(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read mapping file " + path);
  std::string text(65537, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > 65536) throw std::runtime_error("mapping file " + path + ": larger than 64 KiB");
  return parse_mapping(text, path);
}

GenericMapping parse_mapping(std::string_view text, const std::string& path) {
  std::string why;
  const auto v = parse_strict_json(text, 16, why);
  if (!v || !v->is_object())
    throw std::runtime_error("mapping file " + path + ": " + (v ? "must be a JSON object" : why));
  const auto& o = v->as_object();
  GenericMapping m;
  auto str = [&](const char* key, std::string& out, bool required) {
    const auto* f = o.if_contains(key);
    if (!f) {
      if (required) throw std::runtime_error("mapping file " + path + ": \"" + key + "\" missing");
      return;
    }
    if (!f->is_string()) throw std::runtime_error("mapping file " + path + ": \"" + key + "\" must be a string");
    out = std::string(f->as_string());
    // "" would point at the whole payload: a required field names a value in it.
    if (required && out.empty())
      throw std::runtime_error("mapping file " + path + ": \"" + key +
                               "\" must be a JSON Pointer such as /id, not empty");
  };
  auto list = [&](const char* key, std::vector<std::string>& out) {
    const auto* f = o.if_contains(key);
    if (!f) return;
    if (!f->is_array()) throw std::runtime_error("mapping file " + path + ": \"" + key + "\" must be an array");
    out.clear();
    for (const auto& x : f->as_array()) {
      if (!x.is_string()) throw std::runtime_error("mapping file " + path + ": \"" + key + "\" must hold strings");
      out.emplace_back(x.as_string());
    }
  };
  str("identifier", m.identifier, true);
  str("status", m.status, true);
  str("created", m.created, true);
  str("resolved", m.resolved, true);
  str("time_format", m.time_format, false);
  str("labels", m.labels, false);
  str("system", m.system, false);
  str("environment", m.environment, false);
  list("firing", m.firing_values);
  list("resolved_values", m.resolved_values);
  if (m.time_format != "rfc3339" && m.time_format != "unix_s" && m.time_format != "unix_ms" &&
      m.time_format != "unix_ns")
    throw std::runtime_error("mapping file " + path + ": time_format must be rfc3339, unix_s, unix_ms or unix_ns");
  for (const auto* p : {&m.identifier, &m.status, &m.created, &m.resolved, &m.labels, &m.system, &m.environment})
    if (!p->empty() && (*p)[0] != '/')
      throw std::runtime_error("mapping file " + path + ": \"" + *p + "\" is not a JSON Pointer (must start with /)");
  return m;
}

}  // namespace pulse::incident
