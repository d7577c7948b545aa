package io.mqttdynamo.support;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;

/** A real MQTT 5 client for tests: connects over TCP, publishes, subscribes and acknowledges. */
public final class TestMqttClient implements AutoCloseable {

    private final Mqtt5BlockingClient client;
    private final List<Mqtt5Publish> received = new CopyOnWriteArrayList<>();

    private TestMqttClient(Mqtt5BlockingClient client) {
        this.client = client;
    }

    /** Connects with a clean session. */
    public static TestMqttClient connect(String clientId, int port) {
        Mqtt5BlockingClient client = MqttClient.builder()
                .useMqttVersion5()
                .identifier(clientId)
                .serverHost("127.0.0.1")
                .serverPort(port)
                .buildBlocking();
        TestMqttClient wrapper = new TestMqttClient(client);
        client.toAsync().publishes(MqttGlobalPublishFilter.ALL, wrapper.received::add);
        client.connectWith().cleanStart(true).send();
        return wrapper;
    }

    public void subscribe(String filter, int qos) {
        client.subscribeWith().topicFilter(filter).qos(MqttQos.fromCode(qos)).send();
    }

    public void unsubscribe(String filter) {
        client.unsubscribeWith().topicFilter(filter).send();
    }

    public void publish(String topic, String payload, int qos, boolean retain) {
        publish(topic, payload.getBytes(StandardCharsets.UTF_8), qos, retain);
    }

    public void publish(String topic, byte[] payload, int qos, boolean retain) {
        client.publishWith()
                .topic(topic)
                .payload(payload)
                .qos(MqttQos.fromCode(qos))
                .retain(retain)
                .send();
    }

    /** Messages this client received. */
    public List<Mqtt5Publish> received() {
        return received;
    }

    public void disconnect() {
        if (client.getState().isConnected()) {
            client.disconnect();
        }
    }

    @Override
    public void close() {
        disconnect();
    }
}
