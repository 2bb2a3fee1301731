-- W3C Trace Context: the `traceparent` of the invoke's span (the caller's trace, continued),
-- so that the resumes, callbacks and the finish notification of an invocation join the same
-- trace. '' when the invoke had no trace context. (0005 is the `cancel` column.)
ALTER TABLE bk_plugin_schedule ADD COLUMN traceparent TEXT NOT NULL DEFAULT '';
