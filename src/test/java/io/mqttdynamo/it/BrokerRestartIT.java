package io.mqttdynamo.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.ingest.IngestChannels;
import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.OwnMosquitto;
import io.mqttdynamo.support.TableReader;
import io.mqttdynamo.support.TestMqttClient;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/**
 * The broker restarts and forgets every session (a Mosquitto of the test's own, without persistence):
 * the service reconnects by itself, subscribes again, and stores what is published afterwards.
 */
class BrokerRestartIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private Process broker;
    private PackagedService service;
    private DynaliteServer dynamo;

    @AfterEach
    void stopAll() {
        if (service != null) {
            service.close();
        }
        if (broker != null) {
            broker.destroyForcibly();
        }
        if (dynamo != null) {
            dynamo.close();
        }
    }

    @Test
    void afterABrokerRestartTheServiceResubscribesAndStoresAgain() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        int brokerPort = LocalDynamoDbResource.freePort();
        dynamo = DynaliteServer.start(Path.of("local-dynamodb"), "127.0.0.1", LocalDynamoDbResource.freePort(),
                Optional.empty());
        int dynamoPort = Integer.parseInt(dynamo.endpoint().substring(dynamo.endpoint().lastIndexOf(':') + 1));
        String clientId = "restart-it-" + run;
        broker = OwnMosquitto.start(brokerPort);
        service = PackagedService.start(CrashRecoveryIT.environment(clientId, brokerPort, "restart/#", dynamoPort),
                "restart-it");
        await("subscribed").atMost(TIMEOUT).until(() -> service.channelConnected(IngestChannels.MESSAGES, clientId));

        try (DynamoDbAsyncClient client = CrashRecoveryIT.dynamoClient(dynamo)) {
            TableReader tables = new TableReader(client);
            publish(brokerPort, "restart/before", "before");
            await("stored before the restart").atMost(TIMEOUT).ignoreExceptions()
                    .until(() -> !tables.topicMsgIds("restart/before").isEmpty());

            broker.destroyForcibly().waitFor();
            await("noticed").atMost(TIMEOUT).until(() -> !service.channelConnected(IngestChannels.MESSAGES, clientId));
            broker = OwnMosquitto.start(brokerPort);
            await("reconnected and subscribed").atMost(TIMEOUT)
                    .until(() -> service.channelConnected(IngestChannels.MESSAGES, clientId));

            publish(brokerPort, "restart/after", "after");
            await("stored after the restart").atMost(TIMEOUT).ignoreExceptions()
                    .until(() -> !tables.topicMsgIds("restart/after").isEmpty());
        }
        assertThat(service.log()).contains("session new");
    }

    private static void publish(int port, String topic, String payload) {
        try (TestMqttClient publisher = TestMqttClient.connect("restart-pub-" + UUID.randomUUID(), port)) {
            publisher.publish(topic, payload, 1, false);
        }
    }
}
