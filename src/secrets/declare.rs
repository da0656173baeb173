//! Declaration extraction and scope stamping (spec §2.3). Filled in by the stack-loader work.
