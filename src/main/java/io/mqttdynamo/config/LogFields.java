package io.mqttdynamo.config;

import org.jboss.logging.MDC;

/**
 * Fields of the log lines about one channel, table or client (MDC; the JSON log of production shows them under
 * {@code mdc}), set around the log call and taken away after it: the threads that log (Vert.x's event loops, the MQTT
 * client's, the AWS SDK's) run many unrelated tasks, so nothing may stay behind. A field set before is put back.
 *
 * <pre>
 * try (LogFields fields = LogFields.of(LogFields.TABLE, table.tableName())) {
 *     Log.errorf("...");
 * }
 * </pre>
 */
public final class LogFields implements AutoCloseable {

    /** The ingest channel a line is about: client-events, messages, acks. */
    public static final String CHANNEL = "channel";
    /** An MQTT client id: a channel's own, or the client a line is about. */
    public static final String CLIENT_ID = "clientId";
    /** A DynamoDB table. */
    public static final String TABLE = "table";

    private final String[] keys;
    private final Object[] previous;

    private LogFields(String[] keys, Object[] previous) {
        this.keys = keys;
        this.previous = previous;
    }

    /** Sets {@code key, value, key, value, ...}; a null value leaves its key out. */
    public static LogFields of(String... keysAndValues) {
        if (keysAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("keys and values come in pairs");
        }
        String[] keys = new String[keysAndValues.length / 2];
        Object[] previous = new Object[keys.length];
        for (int i = 0; i < keys.length; i++) {
            String value = keysAndValues[2 * i + 1];
            if (value != null) {
                keys[i] = keysAndValues[2 * i];
                previous[i] = MDC.put(keys[i], value);
            }
        }
        return new LogFields(keys, previous);
    }

    @Override
    public void close() {
        for (int i = keys.length - 1; i >= 0; i--) {
            if (keys[i] == null) {
                continue;
            }
            if (previous[i] == null) {
                MDC.remove(keys[i]);
            } else {
                MDC.put(keys[i], previous[i]);
            }
        }
    }
}
