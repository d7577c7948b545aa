package io.mqttdynamo.broker;

/** The MQTT version spoken with the broker. */
public enum ProtocolVersion {
    MQTT_5,
    MQTT_3_1_1
}
