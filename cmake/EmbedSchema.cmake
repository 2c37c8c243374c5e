# Writes OUTPUT, a C++ file holding the collector's schema steps: every
# SCHEMA_DIR/<dialect>/NN-name.sql, in name order, as schema_steps() returns
# them (collector/schema.hpp). Run at build time whenever a file changes.
#   cmake -DSCHEMA_DIR=... -DOUTPUT=... -P EmbedSchema.cmake
set(delimiter "pulse_schema")
set(text "// Generated from collector/schema/ by cmake/EmbedSchema.cmake: edit the .sql files, not this.\n")
string(APPEND text "#include \"collector/schema.hpp\"\n\nnamespace pulse::collector {\n\nnamespace {\n")
foreach(dialect sqlite postgres)
  file(GLOB files LIST_DIRECTORIES false "${SCHEMA_DIR}/${dialect}/*.sql")
  list(SORT files)
  string(APPEND text "\nconstexpr SchemaStep k_${dialect}[] = {\n")
  foreach(file IN LISTS files)
    get_filename_component(name "${file}" NAME_WE)
    file(READ "${file}" sql)
    string(FIND "${sql}" ")${delimiter}\"" clash)
    if(NOT clash EQUAL -1)
      message(FATAL_ERROR "${file} holds the raw string's end, )${delimiter}\"")
    endif()
    string(APPEND text "    {\"${name}\", R\"${delimiter}(${sql})${delimiter}\"},\n")
  endforeach()
  string(APPEND text "};\n")
endforeach()
string(APPEND text "\n}  // namespace\n\n"
  "std::span<const SchemaStep> schema_steps(SchemaDialect dialect) {\n"
  "  if (dialect == SchemaDialect::sqlite) return k_sqlite;\n"
  "  return k_postgres;\n}\n\n}  // namespace pulse::collector\n")
# Rewritten only when it changes, so an unchanged schema recompiles nothing.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${text}")
