// webrtccall: a GstBin that turns a pipeline into a WebRTC calling endpoint.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_WEBRTC_CALL (gst_webrtc_call_get_type())
G_DECLARE_FINAL_TYPE(GstWebRTCCall, gst_webrtc_call, GST, WEBRTC_CALL, GstBin)

#define GST_TYPE_WEBRTC_CALL_STATE (gst_webrtc_call_state_get_type())
GType gst_webrtc_call_state_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(webrtccall);

G_END_DECLS
