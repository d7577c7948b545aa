package io.mqttdynamo.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.ingest.IngestChannels;
import io.mqttdynamo.support.TableReader;
import io.mqttdynamo.support.TestMqttClient;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/**
 * The broker restarts and forgets every session (a Mosquitto of the test's own, without persistence):
 * the service reconnects by itself, subscribes again, and stores what is published afterwards.
 */
class BrokerRestartIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private TestBed bed;

    @AfterEach
    void stopAll() {
        if (bed != null) {
            bed.close();
        }
    }

    @Test
    void afterABrokerRestartTheServiceResubscribesAndStoresAgain() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        bed = TestBed.start();
        int brokerPort = bed.brokerPort;
        String clientId = "restart-it-" + run;
        PackagedService service = bed.service(bed.environment(clientId, "restart/#"), "restart-it");
        await("subscribed").atMost(TIMEOUT).until(() -> service.channelConnected(IngestChannels.MESSAGES, clientId));

        try (DynamoDbAsyncClient client = CrashRecoveryIT.dynamoClient(bed.dynamo())) {
            TableReader tables = new TableReader(client);
            publish(brokerPort, "restart/before", "before");
            await("stored before the restart")
                    .atMost(TIMEOUT)
                    .ignoreExceptions()
                    .until(() -> !tables.topicMsgIds("restart/before").isEmpty());

            bed.killBroker();
            await("noticed").atMost(TIMEOUT).until(() -> !service.channelConnected(IngestChannels.MESSAGES, clientId));
            bed.startBroker();
            await("reconnected and subscribed")
                    .atMost(TIMEOUT)
                    .until(() -> service.channelConnected(IngestChannels.MESSAGES, clientId));

            publish(brokerPort, "restart/after", "after");
            await("stored after the restart")
                    .atMost(TIMEOUT)
                    .ignoreExceptions()
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
