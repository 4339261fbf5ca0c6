/* placeholder addon, replaced in step 2 */
#include <node_api.h>
#include "palisade_event.h"
static napi_value abi(napi_env env, napi_callback_info info) {
  napi_value v; napi_create_uint32(env, PAL_ABI_VERSION, &v); return v;
}
NAPI_MODULE_INIT() {
  napi_value fn; napi_create_function(env, "abiVersion", NAPI_AUTO_LENGTH, abi, NULL, &fn);
  napi_set_named_property(env, exports, "abiVersion", fn); return exports;
}
