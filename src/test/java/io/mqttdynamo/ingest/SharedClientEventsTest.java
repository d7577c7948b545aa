package io.mqttdynamo.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.mqttdynamo.support.EmbeddedVariantProfile;
import io.mqttdynamo.support.Readiness;
import io.mqttdynamo.support.TableReader;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/**
 * Client events through a shared subscription ({@code $share/<group>/$SYS/brokers/+/clients/#}, as
 * EMQX allows and the manifests configure): the broker hands each event to one member of the group.
 * A second member (the test's own client) takes part, so each event is either stored by the service or
 * received by that member, never both, and together they are all of them.
 */
@QuarkusTest
@TestProfile(EmbeddedVariantProfile.class)
class SharedClientEventsTest {

    static final String GROUP_FILTER = EmbeddedVariantProfile.SHARED_EVENTS;

    @Inject
    DynamoDbAsyncClient dynamo;

    @Test
    void eachClientEventGoesToOneMemberOfTheGroup() {
        Readiness.await();
        TableReader tables = new TableReader(dynamo);
        String run = UUID.randomUUID().toString().substring(0, 8);
        int port = EmbeddedBrokerProfile.brokerPort();
        try (TestMqttClient otherMember = TestMqttClient.connect("events-member-" + run, port)) {
            otherMember.subscribe(GROUP_FILTER, 1);
            List<String> clients = new ArrayList<>();
            // They stay connected: a disconnected event would write the client too.
            List<TestMqttClient> connected = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String clientId = "shared-ev-" + run + "-" + i;
                clients.add(clientId);
                connected.add(TestMqttClient.connect(clientId, port));
            }
            Set<String> takenByOther = new HashSet<>();
            await("every connected event stored by the service or taken by the other member")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> {
                        takenByOther.clear();
                        otherMember.received().stream()
                                .map(p -> p.getTopic().toString())
                                .filter(t -> t.endsWith("/connected"))
                                .map(t -> t.split("/")[4])
                                .filter(clients::contains)
                                .forEach(takenByOther::add);
                        return clients.stream()
                                .allMatch(c -> takenByOther.contains(c)
                                        || tables.item("mqtt_client", "clientid", c)
                                                .isPresent());
                    });
            assertThat(takenByOther)
                    .as("the group splits the events")
                    .isNotEmpty()
                    .hasSizeLessThan(clients.size());
            for (String clientId : takenByOther) {
                // The other member took the only connected event: the service never wrote this client.
                assertThat(tables.item("mqtt_client", "clientid", clientId))
                        .as(clientId)
                        .isEmpty();
            }
            connected.forEach(TestMqttClient::close);
        }
    }
}
