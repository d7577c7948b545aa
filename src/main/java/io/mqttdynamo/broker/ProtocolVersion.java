package io.mqttdynamo.broker;

/** The MQTT version spoken with the broker. */
public enum ProtocolVersion {
    MQTT_5, MQTT_3_1_1;

    /** Parses {@code mqtt-dynamo.broker.protocol-version}; null means auto. */
    static ProtocolVersion parse(String setting) {
        return switch (setting.trim().toLowerCase()) {
            case "auto", "" -> null;
            case "5", "5.0", "mqtt5" -> MQTT_5;
            case "3.1.1", "3", "4", "mqtt3" -> MQTT_3_1_1;
            default -> throw new IllegalArgumentException("mqtt-dynamo.broker.protocol-version must be auto, 5 or"
                    + " 3.1.1, got: " + setting);
        };
    }
}
