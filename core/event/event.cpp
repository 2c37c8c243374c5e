#include "core/event/event.hpp"

#include "core/util/timeutil.hpp"

namespace pulse {

std::string_view type_name(const Event& e) {
  switch (e.index()) {
    case 0:
      return "change";
    case 1:
      return "deployment";
    default:
      return "incident";
  }
}

const std::string& identifier(const Event& e) {
  return std::visit(
      [](const auto& ev) -> const std::string& {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, Change>) return ev.change_id;
        else if constexpr (std::is_same_v<T, Deployment>) return ev.deploy_id;
        else return ev.incident_id;
      },
      e);
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not valid.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len;
  std::uint32_t cp;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else return 0;
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

void append_time(std::string& out, std::int64_t t) {
  out += '"';
  out += format_rfc3339(t);
  out += '"';
}

void append_field(std::string& out, std::string_view name) {
  if (out.size() > 1) out += ',';
  out += '"';
  out += name;
  out += "\":";
}

void append_string_array(std::string& out, const std::vector<std::string>& items) {
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, items[i]);
  }
  out += ']';
}

// An extension field: left out when empty, so the Go CLI's fields alone stay byte for byte.
void append_extension(std::string& out, std::string_view name, const std::string& value) {
  if (value.empty()) return;
  append_field(out, name);
  append_json_string(out, value);
}

void append_extension(std::string& out, std::string_view name, const std::vector<std::string>& items) {
  if (items.empty()) return;
  append_field(out, name);
  append_string_array(out, items);
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence(s, i);
    if (len == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    // U+2028 and U+2029 (E2 80 A8/A9) are escaped by Go for JSONP safety.
    if (len == 3 && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8) {
      out += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  out += '"';
}

std::string encode_body(const Event& e) {
  std::string out = "{";
  std::visit(
      [&out](const auto& ev) {
        using T = std::decay_t<decltype(ev)>;
        append_field(out, "source");
        append_json_string(out, ev.source);
        if constexpr (std::is_same_v<T, Change>) {
          append_field(out, "change_id");
          append_json_string(out, ev.change_id);
          append_field(out, "time_created");
          append_time(out, ev.time_created);
          append_field(out, "event_type");
          append_json_string(out, ev.event_type);
          if (ev.author_time) {
            append_field(out, "author_time");
            append_time(out, ev.author_time);
          }
          if (ev.merged_time) {
            append_field(out, "merged_time");
            append_time(out, ev.merged_time);
          }
          append_extension(out, "patch_id", ev.patch_id);
          append_extension(out, "branch_patch_id", ev.branch_patch_id);
          append_extension(out, "branch_commits", ev.branch_commits);
          append_field(out, "$type");
          out += "\"change\"";
        } else if constexpr (std::is_same_v<T, Deployment>) {
          append_field(out, "deploy_id");
          append_json_string(out, ev.deploy_id);
          append_field(out, "time_created");
          append_time(out, ev.time_created);
          append_field(out, "changes");
          append_string_array(out, ev.changes);
          append_field(out, "teams");
          append_string_array(out, ev.teams);
          append_extension(out, "head_commit", ev.head_commit);
          append_extension(out, "environment", ev.environment);
          append_extension(out, "run_url", ev.run_url);
          append_extension(out, "status", ev.status);
          append_extension(out, "fixes", ev.fixes);
          append_extension(out, "reverts", ev.reverts);
          if (!ev.patches.empty()) {
            append_field(out, "patches");
            out += '{';
            for (std::size_t i = 0; i < ev.patches.size(); ++i) {
              if (i) out += ',';
              append_json_string(out, ev.patches[i].sha);
              out += ':';
              append_json_string(out, ev.patches[i].patch_id);
            }
            out += '}';
          }
          append_field(out, "$type");
          out += "\"deployment\"";
        } else {
          append_field(out, "incident_id");
          append_json_string(out, ev.incident_id);
          append_field(out, "time_created");
          append_time(out, ev.time_created);
          append_field(out, "time_resolved");
          append_time(out, ev.time_resolved);
          append_extension(out, "environment", ev.environment);
          append_field(out, "$type");
          out += "\"incident\"";
        }
      },
      e);
  out += '}';
  return out;
}

}  // namespace pulse
