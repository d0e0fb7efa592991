// The C API of libmongoc and libbson (1.23, Debian's header layout), seen by Swift through this header only.
#pragma once
#include <bson/bson.h>
#include <libmongoc-1.0/mongoc/mongoc.h>

// bson_t is declared with a 128-byte alignment attribute; reading its length through a function
// keeps Swift from depending on how that layout is imported.
static inline uint32_t fleet_bson_length(const bson_t *bson) { return bson->len; }

// Out-parameter documents ("reply") are initialized by libmongoc on stack-style storage that the
// caller provides; these allocate and free that storage with the alignment bson_t asks for.
// bson_init marks it static, so bson_destroy never frees the struct, even if libmongoc did not fill it.
static inline bson_t *fleet_bson_reply_alloc(void) {
    bson_t *reply = (bson_t *)bson_aligned_alloc0(BSON_ALIGNOF(bson_t), sizeof(bson_t));
    bson_init(reply);
    return reply;
}
static inline void fleet_bson_reply_free(bson_t *reply) {
    bson_destroy(reply);  // frees the reply's data, never the (static-flagged) struct itself
    bson_free(reply);
}
