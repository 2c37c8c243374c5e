#include "store.hpp"

namespace pulse::collector {

bool is_postgres_uri(std::string_view db) { return db.starts_with("postgresql://") || db.starts_with("postgres://"); }

std::unique_ptr<Store> open_store(const std::string& db, std::size_t connections) {
  if (is_postgres_uri(db)) return open_postgres_store(db, connections);
  return open_sqlite_store(db);
}

std::string describe_db(const std::string& db) {
  if (!is_postgres_uri(db)) return db;
  std::string out = db;
  // postgresql://user:secret@host/... -> postgresql://user:***@host/...
  const auto scheme_end = out.find("://") + 3;
  const auto at = out.find('@', scheme_end);
  const auto slash = out.find('/', scheme_end);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    const auto colon = out.find(':', scheme_end);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  // ...?password=secret&... -> ...?password=***&...
  for (std::size_t pos = out.find("password="); pos != std::string::npos; pos = out.find("password=", pos + 1)) {
    if (pos > 0 && out[pos - 1] != '?' && out[pos - 1] != '&') continue;
    const auto value = pos + 9;
    const auto end = out.find('&', value);
    out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
  }
  return out;
}

}  // namespace pulse::collector
