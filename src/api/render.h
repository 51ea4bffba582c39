// Stored values as JSON, and the documents generated from the column model:
// the schema (GET /api/v1/schema) and OpenAPI 3 (GET /api/v1/openapi.json).
#pragma once

#include <nlohmann/json.hpp>

#include "schema/columns.h"
#include "store/store.h"

namespace tapir::api {

// One value as the API shows it: RFC 3339 times, enum names, booleans,
// unsigned numbers, JSON for repeated fields, text for addresses.
nlohmann::json value_json(const schema::Column& c, const store::Value& v);
nlohmann::json row_json(const schema::Resource& r, const std::vector<int>& columns,
                        const std::vector<store::Value>& row);

nlohmann::json schema_document();
nlohmann::json openapi_document();

}  // namespace tapir::api
