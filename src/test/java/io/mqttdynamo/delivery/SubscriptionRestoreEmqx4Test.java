package io.mqttdynamo.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.EmqxApiProfile;
import io.mqttdynamo.support.FakeEmqxApi;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * on_subscribe_lookup through EMQX 4's REST API ({@code subscribe_batch}, AppID and secret): EMQX 4 has no
 * subscription events, so the rows are in mqtt_sub from before; a connected event through a real Mosquitto.
 */
@QuarkusTest
@TestProfile(EmqxApiProfile.Emqx4.class)
class SubscriptionRestoreEmqx4Test extends EmqxApiRestoreTest {

    private void storedSubscription(String clientId, String filter, int qos) throws Exception {
        dynamo.putItem(b -> b.tableName("mqtt_sub")
                        .item(Map.of(
                                "clientid",
                                AttributeValue.fromS(clientId),
                                "topic",
                                AttributeValue.fromS(filter),
                                "qos",
                                AttributeValue.fromN(Integer.toString(qos)))))
                .get(10, TimeUnit.SECONDS);
    }

    private void connected(String clientId) {
        event(
                clientId,
                "connected",
                "{\"clientid\":\"" + clientId + "\",\"username\":\"u\",\"connected_at\":"
                        + System.currentTimeMillis() / 1000 + ",\"proto_ver\":4,\"clean_start\":false}");
    }

    @Test
    void subscriptionsAreRestoredThroughSubscribeBatch() throws Exception {
        String clientId = "v4-" + run;
        storedSubscription(clientId, "a/" + run + "/#", 1);
        storedSubscription(clientId, "b/" + run, 0);
        emqx.connect(clientId);
        double before = restores("restored");
        connected(clientId);
        await().atMost(TIMEOUT).until(() -> restores("restored") >= before + 1);
        List<FakeEmqxApi.Request> requests = emqx.requestsFor(clientId);
        assertThat(requests).hasSize(1);
        assertThat(requests.get(0).rawPath()).isEqualTo("/api/v4/mqtt/subscribe_batch");
        assertThat(requests.get(0).authorization())
                .isEqualTo(FakeEmqxApi.basic(EmqxApiProfile.KEY, EmqxApiProfile.SECRET));
        assertThat(requests.get(0).body())
                .containsExactlyInAnyOrder(
                        JSON.readTree("{\"topic\":\"a/" + run + "/#\",\"qos\":1,\"clientid\":\"" + clientId + "\"}"),
                        JSON.readTree("{\"topic\":\"b/" + run + "\",\"qos\":0,\"clientid\":\"" + clientId + "\"}"));
    }

    @Test
    void anUnknownClientIsCountedAsGone() throws Exception {
        String clientId = "v4-gone-" + run;
        storedSubscription(clientId, "a/" + run, 1);
        double before = restores("client_gone");
        connected(clientId);
        await().atMost(TIMEOUT).until(() -> restores("client_gone") >= before + 1);
        assertThat(emqx.requestsFor(clientId)).hasSize(1);
    }
}
