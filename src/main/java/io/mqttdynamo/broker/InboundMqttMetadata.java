package io.mqttdynamo.broker;

/**
 * What the MQTT packet said about a message the service received: attached to every message of an
 * {@code mqtt-dynamo} channel.
 *
 * @param retain the publisher's retain flag with MQTT 5 (retain-as-published); with MQTT 3.1.1 it only
 *        marks messages the broker sent from its retained store
 * @param republishedOf the msgid in the service's own {@link Republisher#MARKER} user property, else null
 * @param mqtt5 true when the session speaks MQTT 5, so that such a mark would have arrived
 */
public record InboundMqttMetadata(
        String topic, int qos, boolean retain, long receivedAtMillis, String republishedOf, boolean mqtt5) {}
