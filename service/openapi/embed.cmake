# Writes OUTPUT, a C++ file defining secretsd::openapi::document() as the
# bytes of INPUT (run at build time: cmake -DINPUT=… -DOUTPUT=… -P embed.cmake).
file(READ "${INPUT}" content)
set(delimiter "openapi_json")
string(FIND "${content}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )${delimiter}\"")
endif()
set(source "// Generated from ${INPUT} by service/openapi/embed.cmake. Do not edit.\n")
string(APPEND source "#include \"openapi/document.h\"\n\n")
string(APPEND source "namespace secretsd::openapi {\n\n")
string(APPEND source "std::string_view document() {\n")
string(APPEND source "  static constexpr std::string_view kDocument = R\"${delimiter}(${content})${delimiter}\";\n")
string(APPEND source "  return kDocument;\n}\n\n}  // namespace secretsd::openapi\n")
file(WRITE "${OUTPUT}.tmp" "${source}")
# Rewritten only when it changed, so an untouched document recompiles nothing.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
