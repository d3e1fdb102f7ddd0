"""Reading upstream streams: framing, mapping and buffering, and the pipeline that composes them."""
