// The element's debug category, shared by its source files.
#pragma once

#include <gst/gst.h>

GST_DEBUG_CATEGORY_EXTERN(gst_webrtc_call_debug);
#define GST_CAT_DEFAULT gst_webrtc_call_debug
