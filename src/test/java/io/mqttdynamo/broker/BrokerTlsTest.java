package io.mqttdynamo.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mqttdynamo.config.BrokerTls;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.support.ServiceTest;
import io.mqttdynamo.support.TestCertificates;
import io.mqttdynamo.support.TlsMosquitto;
import io.mqttdynamo.support.TlsMosquittoProfile;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.mutiny.Multi;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * TLS with a client certificate, as AWS IoT Core requires it, against a Mosquitto that takes no connection
 * without a certificate its CA signed: the service connects with its certificate (its key in AWS IoT's PKCS#1
 * form) on every connection it makes, and stores what is published; without a certificate, with a CA it does not
 * trust or with a broker certificate for another name, the connection is refused.
 */
@QuarkusTest
@TestProfile(TlsMosquittoProfile.class)
class BrokerTlsTest extends ServiceTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @Inject
    BrokerSessions sessions;

    @Inject
    Republisher republisher;

    @Test
    void theServiceConnectsWithItsClientCertificateAndStoresWhatIsPublished() {
        String topic = TlsMosquittoProfile.TOPIC_ROOT + run + "/stored";
        Mqtt5BlockingClient publisher =
                sessions.clientBuilder("tls-pub-" + run).useMqttVersion5().buildBlocking();
        publisher.connectWith().cleanStart(true).send();
        publisher
                .publishWith()
                .topic(topic)
                .payload("over TLS".getBytes(StandardCharsets.UTF_8))
                .qos(MqttQos.AT_LEAST_ONCE)
                .send();
        publisher.disconnect();

        String msgId = await().atMost(TIMEOUT)
                .until(() -> tables.topicMsgIds(topic), ids -> !ids.isEmpty())
                .get(0);
        Map<String, AttributeValue> message = await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_msg", "msgid", msgId).orElse(null), item -> item != null);
        assertThat(message.get("payload").s()).isEqualTo("over TLS");

        // The broker takes no connection without the client certificate: every connection it logged presented it.
        String base = sessions.clientIdBase();
        await().atMost(TIMEOUT)
                .untilAsserted(() -> assertThat(TlsMosquitto.log())
                        .as("the version probe, the messages channel, the retained witness and scan, the cluster view")
                        .contains(
                                " as " + base + "-probe-",
                                " as " + base + "-messages ",
                                " as " + base + "-retained ",
                                " as " + base + RetainedBrokerClient.SCAN_ID_INFIX,
                                " as " + base + "-cluster "));
    }

    @Test
    void theRepublisherConnectsWithTheClientCertificate() throws Exception {
        String topic = TlsMosquittoProfile.TOPIC_ROOT + run + "/again";
        List<Mqtt5Publish> received = new CopyOnWriteArrayList<>();
        Mqtt5AsyncClient subscriber =
                sessions.clientBuilder("tls-sub-" + run).useMqttVersion5().buildAsync();
        subscriber.publishes(MqttGlobalPublishFilter.ALL, received::add);
        subscriber.connectWith().cleanStart(true).send().get(10, TimeUnit.SECONDS);
        subscriber
                .subscribeWith()
                .topicFilter(topic)
                .qos(MqttQos.AT_LEAST_ONCE)
                .send()
                .get(10, TimeUnit.SECONDS);
        try {
            int published = republisher
                    .publish(
                            Multi.createFrom()
                                    .item(new Republisher.Copy(
                                            "msg-" + run,
                                            topic,
                                            "again".getBytes(StandardCharsets.UTF_8),
                                            1,
                                            "sender")),
                            copy -> {})
                    .await()
                    .atMost(TIMEOUT);
            assertThat(published).isEqualTo(1);
            await().atMost(TIMEOUT).until(() -> !received.isEmpty());
            assertThat(new String(received.get(0).getPayloadAsBytes(), StandardCharsets.UTF_8))
                    .isEqualTo("again");
            assertThat(TlsMosquitto.log()).contains(" as " + Republisher.ID_PREFIX);
        } finally {
            subscriber.disconnect();
        }
    }

    @Test
    void withoutAClientCertificateTheBrokerRefusesTheConnection() {
        Throwable refused =
                connect(TlsMosquitto.port(), Map.of(BrokerTls.CA_FILE, TlsMosquitto.file(TestCertificates.CA)));
        assertThat(refused).as("connecting without a client certificate").isNotNull();
        assertThat(TlsMosquitto.log()).contains("peer did not return a certificate");
        assertThat(TlsMosquitto.log()).doesNotContain(" as tls-try-" + run);
    }

    @Test
    void aBrokerCertificateFromACaNotTrustedIsRefused() {
        // ssl alone: the JVM's trust store, which does not hold the test CA.
        Map<String, String> jvmTrust = new HashMap<>(clientCertificate());
        jvmTrust.remove(BrokerTls.CA_FILE);
        jvmTrust.put("mqtt-dynamo.broker.ssl", "true");
        assertThat(connect(TlsMosquitto.port(), jvmTrust))
                .as("the test CA is not in the JVM's trust store")
                .isNotNull()
                .satisfies(e -> assertThat(causes(e)).contains("unable to find valid certification path"));
        assertThat(connect(TlsMosquitto.port(), clientCertificate()))
                .as("with ca-file")
                .isNull();
    }

    @Test
    void aBrokerCertificateForAnotherNameIsRefusedUnlessHostNameVerificationIsOff() {
        assertThat(connect(TlsMosquitto.elsewherePort(), clientCertificate()))
                .as("a certificate for elsewhere.invalid")
                .isNotNull()
                .satisfies(e -> assertThat(causes(e)).contains("No subject alternative names matching IP address"));
        Map<String, String> unchecked = new HashMap<>(clientCertificate());
        unchecked.put(BrokerTls.HOSTNAME_VERIFICATION, "false");
        assertThat(connect(TlsMosquitto.elsewherePort(), unchecked)).isNull();
    }

    /** The test CA and the client certificate with its key in PKCS#8 form. */
    private static Map<String, String> clientCertificate() {
        return Map.of(
                BrokerTls.CA_FILE,
                TlsMosquitto.file(TestCertificates.CA),
                BrokerTls.CERT_FILE,
                TlsMosquitto.file(TestCertificates.CLIENT_CERT),
                BrokerTls.KEY_FILE,
                TlsMosquitto.file(TestCertificates.CLIENT_KEY_PKCS8));
    }

    /**
     * Connects (MQTT 5, clean start) to 127.0.0.1:{@code port} through the client builder of sessions made with
     * {@code tls}; what made it fail, or null when it connected.
     */
    private Throwable connect(int port, Map<String, String> tls) {
        Map<String, String> properties = new HashMap<>(tls);
        properties.put("mqtt-dynamo.broker.host", "127.0.0.1");
        properties.put("mqtt-dynamo.broker.port", Integer.toString(port));
        properties.put("mqtt-dynamo.broker.client-id", "tls-try-" + run);
        MqttDynamoConfig config = new SmallRyeConfigBuilder()
                .withMapping(MqttDynamoConfig.class)
                .withSources(new PropertiesConfigSource(properties, "test", 100))
                .build()
                .getConfigMapping(MqttDynamoConfig.class);
        Mqtt5AsyncClient client = new BrokerSessions(config, new SimpleMeterRegistry())
                .clientBuilder("tls-try-" + run)
                .useMqttVersion5()
                .buildAsync();
        Throwable failure = catchThrowable(
                () -> client.connectWith().cleanStart(true).send().get(15, TimeUnit.SECONDS));
        if (failure == null) {
            client.disconnect();
        }
        return failure;
    }

    /** The messages of {@code failure} and its causes. */
    private static String causes(Throwable failure) {
        StringBuilder text = new StringBuilder();
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            text.append(cause).append('\n');
        }
        return text.toString();
    }
}
