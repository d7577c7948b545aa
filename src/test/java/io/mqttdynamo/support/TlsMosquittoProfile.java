package io.mqttdynamo.support;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/**
 * The service in raw mode against a {@link TlsMosquitto}, presenting the client certificate with its key in
 * AWS IoT's form (PKCS#1, {@code BEGIN RSA PRIVATE KEY}) and trusting the test CA. The MQTT version is probed,
 * the retained messages compared at start and the cluster view on, so that each of the service's kinds of
 * connection is made.
 */
public class TlsMosquittoProfile implements QuarkusTestProfile {

    public static final String TOPIC_ROOT = "tls/";

    @Override
    public Map<String, String> getConfigOverrides() {
        Map<String, String> config = new HashMap<>();
        config.put("mqtt-dynamo.broker.client-id", "tls-" + TestRun.id());
        config.put("mqtt-dynamo.events.dialect", "none");
        config.put("mqtt-dynamo.acks.topic", "none");
        config.put("mqtt-dynamo.messages.mode", "raw");
        config.put("mqtt-dynamo.messages.topic", TOPIC_ROOT + "#");
        return config;
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(Resource.class));
    }

    /** dynalite and the broker. */
    public static class Resource extends LocalDynamoDbResource {

        @Override
        public Map<String, String> start() {
            Map<String, String> config = new HashMap<>(super.start());
            TlsMosquitto.start();
            config.put("mqtt-dynamo.broker.host", "127.0.0.1");
            config.put("mqtt-dynamo.broker.port", Integer.toString(TlsMosquitto.port()));
            config.put("mqtt-dynamo.broker.tls.ca-file", TlsMosquitto.file(TestCertificates.CA));
            config.put("mqtt-dynamo.broker.tls.cert-file", TlsMosquitto.file(TestCertificates.CLIENT_CERT));
            config.put("mqtt-dynamo.broker.tls.key-file", TlsMosquitto.file(TestCertificates.CLIENT_KEY_RSA));
            return config;
        }

        @Override
        public void stop() {
            TlsMosquitto.stop();
            super.stop();
        }
    }
}
