package io.mqttdynamo.store;

/** DynamoDB refused a write for good (not a passing fault); it was logged and counted, and dropped. */
public class RejectedWriteException extends RuntimeException {

    public RejectedWriteException(Tables table, String item) {
        super("DynamoDB refused a write to " + table.tableName() + " (" + item.replace('\u0000', '/') + ")");
    }
}
