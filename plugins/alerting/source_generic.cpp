// Any JSON source, through a mapping file of JSON Pointers.
#include "model.hpp"

#include "timeutil.hpp"

#include <charconv>

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
    else if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) raw = static_cast<std::int64_t>(v.as_uint64());
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
  out.observations.push_back(std::move(o));
  return true;
}

}  // namespace pulse::incident
