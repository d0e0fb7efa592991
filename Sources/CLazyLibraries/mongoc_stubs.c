// libmongoc (not libbson) opened on first call: loading it runs mongoc_init (OpenSSL, SASL plugins).
// Generated from the headers' prototypes; the compiler checks each stub against them.
// A new function of this library used from Swift needs a stub here (else: undefined symbol at link).
#include <pthread.h>

#include <libmongoc-1.0/mongoc/mongoc.h>

#include "lazy_library.h"

#define MONGOC_FUNCTIONS(X) \
    X(mongoc_client_command_with_opts) \
    X(mongoc_client_destroy) \
    X(mongoc_client_get_collection) \
    X(mongoc_client_new_from_uri_with_error) \
    X(mongoc_client_session_abort_transaction) \
    X(mongoc_client_session_append) \
    X(mongoc_client_session_commit_transaction) \
    X(mongoc_client_session_destroy) \
    X(mongoc_client_session_in_transaction) \
    X(mongoc_client_session_start_transaction) \
    X(mongoc_client_set_error_api) \
    X(mongoc_client_set_read_concern) \
    X(mongoc_client_set_write_concern) \
    X(mongoc_client_start_session) \
    X(mongoc_collection_count_documents) \
    X(mongoc_collection_delete_many) \
    X(mongoc_collection_delete_one) \
    X(mongoc_collection_destroy) \
    X(mongoc_collection_drop_with_opts) \
    X(mongoc_collection_find_with_opts) \
    X(mongoc_collection_insert_many) \
    X(mongoc_collection_insert_one) \
    X(mongoc_collection_replace_one) \
    X(mongoc_collection_update_many) \
    X(mongoc_collection_update_one) \
    X(mongoc_collection_write_command_with_opts) \
    X(mongoc_cursor_destroy) \
    X(mongoc_cursor_error_document) \
    X(mongoc_cursor_next) \
    X(mongoc_init) \
    X(mongoc_read_concern_destroy) \
    X(mongoc_read_concern_new) \
    X(mongoc_read_concern_set_level) \
    X(mongoc_transaction_opts_destroy) \
    X(mongoc_transaction_opts_new) \
    X(mongoc_transaction_opts_set_max_commit_time_ms) \
    X(mongoc_transaction_opts_set_read_concern) \
    X(mongoc_transaction_opts_set_write_concern) \
    X(mongoc_uri_destroy) \
    X(mongoc_uri_get_appname) \
    X(mongoc_uri_get_option_as_int32) \
    X(mongoc_uri_has_option) \
    X(mongoc_uri_new_with_error) \
    X(mongoc_uri_set_appname) \
    X(mongoc_uri_set_option_as_int32) \
    X(mongoc_write_concern_destroy) \
    X(mongoc_write_concern_new) \
    X(mongoc_write_concern_set_w) \
    X(mongoc_write_concern_set_wtimeout_int64)

static struct {
#define FIELD(name) __typeof__(name) *name;
    MONGOC_FUNCTIONS(FIELD)
#undef FIELD
} mongoc;
static pthread_once_t mongoc_once = PTHREAD_ONCE_INIT;

static void mongoc_load(void) {
    void *library = fleet_lazy_open("libmongoc-1.0.so.0");
#define RESOLVE(name) mongoc.name = fleet_lazy_symbol(library, "libmongoc-1.0.so.0", #name);
    MONGOC_FUNCTIONS(RESOLVE)
#undef RESOLVE
}

#define LOADED(name) (pthread_once(&mongoc_once, mongoc_load), mongoc.name)

FLEET_LAZY_STUB bool mongoc_client_command_with_opts(mongoc_client_t *a0, const char *a1, const bson_t *a2, const mongoc_read_prefs_t *a3, const bson_t *a4, bson_t *a5, bson_error_t *a6) { return LOADED(mongoc_client_command_with_opts)(a0, a1, a2, a3, a4, a5, a6); }
FLEET_LAZY_STUB void mongoc_client_destroy(mongoc_client_t *a0) { LOADED(mongoc_client_destroy)(a0); }
FLEET_LAZY_STUB mongoc_collection_t *mongoc_client_get_collection(mongoc_client_t *a0, const char *a1, const char *a2) { return LOADED(mongoc_client_get_collection)(a0, a1, a2); }
FLEET_LAZY_STUB mongoc_client_t *mongoc_client_new_from_uri_with_error(const mongoc_uri_t *a0, bson_error_t *a1) { return LOADED(mongoc_client_new_from_uri_with_error)(a0, a1); }
FLEET_LAZY_STUB bool mongoc_client_session_abort_transaction(mongoc_client_session_t *a0, bson_error_t *a1) { return LOADED(mongoc_client_session_abort_transaction)(a0, a1); }
FLEET_LAZY_STUB bool mongoc_client_session_append(const mongoc_client_session_t *a0, bson_t *a1, bson_error_t *a2) { return LOADED(mongoc_client_session_append)(a0, a1, a2); }
FLEET_LAZY_STUB bool mongoc_client_session_commit_transaction(mongoc_client_session_t *a0, bson_t *a1, bson_error_t *a2) { return LOADED(mongoc_client_session_commit_transaction)(a0, a1, a2); }
FLEET_LAZY_STUB void mongoc_client_session_destroy(mongoc_client_session_t *a0) { LOADED(mongoc_client_session_destroy)(a0); }
FLEET_LAZY_STUB bool mongoc_client_session_in_transaction(const mongoc_client_session_t *a0) { return LOADED(mongoc_client_session_in_transaction)(a0); }
FLEET_LAZY_STUB bool mongoc_client_session_start_transaction(mongoc_client_session_t *a0, const mongoc_transaction_opt_t *a1, bson_error_t *a2) { return LOADED(mongoc_client_session_start_transaction)(a0, a1, a2); }
FLEET_LAZY_STUB bool mongoc_client_set_error_api(mongoc_client_t *a0, int32_t a1) { return LOADED(mongoc_client_set_error_api)(a0, a1); }
FLEET_LAZY_STUB void mongoc_client_set_read_concern(mongoc_client_t *a0, const mongoc_read_concern_t *a1) { LOADED(mongoc_client_set_read_concern)(a0, a1); }
FLEET_LAZY_STUB void mongoc_client_set_write_concern(mongoc_client_t *a0, const mongoc_write_concern_t *a1) { LOADED(mongoc_client_set_write_concern)(a0, a1); }
FLEET_LAZY_STUB mongoc_client_session_t *mongoc_client_start_session(mongoc_client_t *a0, const mongoc_session_opt_t *a1, bson_error_t *a2) { return LOADED(mongoc_client_start_session)(a0, a1, a2); }
FLEET_LAZY_STUB int64_t mongoc_collection_count_documents(mongoc_collection_t *a0, const bson_t *a1, const bson_t *a2, const mongoc_read_prefs_t *a3, bson_t *a4, bson_error_t *a5) { return LOADED(mongoc_collection_count_documents)(a0, a1, a2, a3, a4, a5); }
FLEET_LAZY_STUB bool mongoc_collection_delete_many(mongoc_collection_t *a0, const bson_t *a1, const bson_t *a2, bson_t *a3, bson_error_t *a4) { return LOADED(mongoc_collection_delete_many)(a0, a1, a2, a3, a4); }
FLEET_LAZY_STUB bool mongoc_collection_delete_one(mongoc_collection_t *a0, const bson_t *a1, const bson_t *a2, bson_t *a3, bson_error_t *a4) { return LOADED(mongoc_collection_delete_one)(a0, a1, a2, a3, a4); }
FLEET_LAZY_STUB void mongoc_collection_destroy(mongoc_collection_t *a0) { LOADED(mongoc_collection_destroy)(a0); }
FLEET_LAZY_STUB bool mongoc_collection_drop_with_opts(mongoc_collection_t *a0, const bson_t *a1, bson_error_t *a2) { return LOADED(mongoc_collection_drop_with_opts)(a0, a1, a2); }
FLEET_LAZY_STUB mongoc_cursor_t *mongoc_collection_find_with_opts(mongoc_collection_t *a0, const bson_t *a1, const bson_t *a2, const mongoc_read_prefs_t *a3) { return LOADED(mongoc_collection_find_with_opts)(a0, a1, a2, a3); }
FLEET_LAZY_STUB bool mongoc_collection_insert_many(mongoc_collection_t *a0, const bson_t **a1, size_t a2, const bson_t *a3, bson_t *a4, bson_error_t *a5) { return LOADED(mongoc_collection_insert_many)(a0, a1, a2, a3, a4, a5); }
FLEET_LAZY_STUB bool mongoc_collection_insert_one(mongoc_collection_t *a0, const bson_t *a1, const bson_t *a2, bson_t *a3, bson_error_t *a4) { return LOADED(mongoc_collection_insert_one)(a0, a1, a2, a3, a4); }
FLEET_LAZY_STUB bool mongoc_collection_replace_one(mongoc_collection_t *a0, const bson_t *a1, const bson_t *a2, const bson_t *a3, bson_t *a4, bson_error_t *a5) { return LOADED(mongoc_collection_replace_one)(a0, a1, a2, a3, a4, a5); }
FLEET_LAZY_STUB bool mongoc_collection_update_many(mongoc_collection_t *a0, const bson_t *a1, const bson_t *a2, const bson_t *a3, bson_t *a4, bson_error_t *a5) { return LOADED(mongoc_collection_update_many)(a0, a1, a2, a3, a4, a5); }
FLEET_LAZY_STUB bool mongoc_collection_update_one(mongoc_collection_t *a0, const bson_t *a1, const bson_t *a2, const bson_t *a3, bson_t *a4, bson_error_t *a5) { return LOADED(mongoc_collection_update_one)(a0, a1, a2, a3, a4, a5); }
FLEET_LAZY_STUB bool mongoc_collection_write_command_with_opts(mongoc_collection_t *a0, const bson_t *a1, const bson_t *a2, bson_t *a3, bson_error_t *a4) { return LOADED(mongoc_collection_write_command_with_opts)(a0, a1, a2, a3, a4); }
FLEET_LAZY_STUB void mongoc_cursor_destroy(mongoc_cursor_t *a0) { LOADED(mongoc_cursor_destroy)(a0); }
FLEET_LAZY_STUB bool mongoc_cursor_error_document(mongoc_cursor_t *a0, bson_error_t *a1, const bson_t **a2) { return LOADED(mongoc_cursor_error_document)(a0, a1, a2); }
FLEET_LAZY_STUB bool mongoc_cursor_next(mongoc_cursor_t *a0, const bson_t **a1) { return LOADED(mongoc_cursor_next)(a0, a1); }
FLEET_LAZY_STUB void mongoc_init(void) { LOADED(mongoc_init)(); }
FLEET_LAZY_STUB void mongoc_read_concern_destroy(mongoc_read_concern_t *a0) { LOADED(mongoc_read_concern_destroy)(a0); }
FLEET_LAZY_STUB mongoc_read_concern_t *mongoc_read_concern_new(void) { return LOADED(mongoc_read_concern_new)(); }
FLEET_LAZY_STUB bool mongoc_read_concern_set_level(mongoc_read_concern_t *a0, const char *a1) { return LOADED(mongoc_read_concern_set_level)(a0, a1); }
FLEET_LAZY_STUB void mongoc_transaction_opts_destroy(mongoc_transaction_opt_t *a0) { LOADED(mongoc_transaction_opts_destroy)(a0); }
FLEET_LAZY_STUB mongoc_transaction_opt_t *mongoc_transaction_opts_new(void) { return LOADED(mongoc_transaction_opts_new)(); }
FLEET_LAZY_STUB void mongoc_transaction_opts_set_max_commit_time_ms(mongoc_transaction_opt_t *a0, int64_t a1) { LOADED(mongoc_transaction_opts_set_max_commit_time_ms)(a0, a1); }
FLEET_LAZY_STUB void mongoc_transaction_opts_set_read_concern(mongoc_transaction_opt_t *a0, const mongoc_read_concern_t *a1) { LOADED(mongoc_transaction_opts_set_read_concern)(a0, a1); }
FLEET_LAZY_STUB void mongoc_transaction_opts_set_write_concern(mongoc_transaction_opt_t *a0, const mongoc_write_concern_t *a1) { LOADED(mongoc_transaction_opts_set_write_concern)(a0, a1); }
FLEET_LAZY_STUB void mongoc_uri_destroy(mongoc_uri_t *a0) { LOADED(mongoc_uri_destroy)(a0); }
FLEET_LAZY_STUB const char *mongoc_uri_get_appname(const mongoc_uri_t *a0) { return LOADED(mongoc_uri_get_appname)(a0); }
FLEET_LAZY_STUB int32_t mongoc_uri_get_option_as_int32(const mongoc_uri_t *a0, const char *a1, int32_t a2) { return LOADED(mongoc_uri_get_option_as_int32)(a0, a1, a2); }
FLEET_LAZY_STUB bool mongoc_uri_has_option(const mongoc_uri_t *a0, const char *a1) { return LOADED(mongoc_uri_has_option)(a0, a1); }
FLEET_LAZY_STUB mongoc_uri_t *mongoc_uri_new_with_error(const char *a0, bson_error_t *a1) { return LOADED(mongoc_uri_new_with_error)(a0, a1); }
FLEET_LAZY_STUB bool mongoc_uri_set_appname(mongoc_uri_t *a0, const char *a1) { return LOADED(mongoc_uri_set_appname)(a0, a1); }
FLEET_LAZY_STUB bool mongoc_uri_set_option_as_int32(mongoc_uri_t *a0, const char *a1, int32_t a2) { return LOADED(mongoc_uri_set_option_as_int32)(a0, a1, a2); }
FLEET_LAZY_STUB void mongoc_write_concern_destroy(mongoc_write_concern_t *a0) { LOADED(mongoc_write_concern_destroy)(a0); }
FLEET_LAZY_STUB mongoc_write_concern_t *mongoc_write_concern_new(void) { return LOADED(mongoc_write_concern_new)(); }
FLEET_LAZY_STUB void mongoc_write_concern_set_w(mongoc_write_concern_t *a0, int32_t a1) { LOADED(mongoc_write_concern_set_w)(a0, a1); }
FLEET_LAZY_STUB void mongoc_write_concern_set_wtimeout_int64(mongoc_write_concern_t *a0, int64_t a1) { LOADED(mongoc_write_concern_set_wtimeout_int64)(a0, a1); }
