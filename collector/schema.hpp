// The collector's schema: its migrations, one step a file, in
// collector/schema/sqlite/ and collector/schema/postgres/ (NN-name.sql),
// built into the binary (cmake/EmbedSchema.cmake). Both dialects have the
// same steps, by name and in order; a database records how many it has run.
#pragma once

#include <span>
#include <string_view>

namespace pulse::collector {

enum class SchemaDialect { sqlite, postgres };

struct SchemaStep {
  std::string_view name;  ///< "06-metrics-by-environment": the file's name
  const char* sql;        ///< the file's text (NUL-terminated)
};

/// A dialect's steps, in the order they run.
std::span<const SchemaStep> schema_steps(SchemaDialect dialect);

}  // namespace pulse::collector
