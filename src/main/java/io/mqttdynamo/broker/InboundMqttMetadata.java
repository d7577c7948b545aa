package io.mqttdynamo.broker;

/**
 * What the MQTT packet said about a message the service received: attached to every message of an
 * {@code mqtt-dynamo} channel.
 *
 * @param retain the publisher's retain flag with MQTT 5 (retain-as-published); with MQTT 3.1.1 it only
 *        marks messages the broker sent from its retained store
 */
public record InboundMqttMetadata(String topic, int qos, boolean retain, long receivedAtMillis) {
}
