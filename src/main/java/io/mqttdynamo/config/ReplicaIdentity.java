package io.mqttdynamo.config;

import java.net.InetAddress;

/** The service's stable name: the base of its MQTT client ids, and its name as a writer of shared items. */
public final class ReplicaIdentity {

    private ReplicaIdentity() {}

    /** {@code mqtt-dynamo.broker.client-id}, or {@code mqtt-dynamo-<host name>} (a StatefulSet pod's name). */
    public static String clientIdBase(MqttDynamoConfig config) {
        return config.broker().clientId().orElseGet(ReplicaIdentity::fromHostName);
    }

    private static String fromHostName() {
        String name = System.getenv("HOSTNAME");
        if (name == null || name.isBlank()) {
            try {
                name = InetAddress.getLocalHost().getHostName();
            } catch (Exception e) {
                name = "local";
            }
        }
        return "mqtt-dynamo-" + name.replaceAll("[^A-Za-z0-9_.-]", "-");
    }
}
