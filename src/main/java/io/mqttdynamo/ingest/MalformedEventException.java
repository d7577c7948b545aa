package io.mqttdynamo.ingest;

/** An event or envelope that cannot be understood; it is logged, counted and skipped. */
public class MalformedEventException extends RuntimeException {

    private final String reason;

    public MalformedEventException(String reason, String detail) {
        super(reason + ": " + detail);
        this.reason = reason;
    }

    /** A short, fixed reason for metrics: invalid_json, missing_field … */
    public String reason() {
        return reason;
    }
}
