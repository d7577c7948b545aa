package io.mqttdynamo.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.EmqxApiProfile;
import io.mqttdynamo.support.FakeEmqxApi;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * on_subscribe_lookup through EMQX 5's REST API: EMQX 5 events arrive through a real Mosquitto, subscriptions
 * are stored in a real DynamoDB-compatible server, and a local HTTP server answers the subscribe endpoint as
 * EMQX does (200, 404, 401, 503, no answer).
 */
@QuarkusTest
@TestProfile(EmqxApiProfile.class)
class SubscriptionRestoreEmqx5Test extends EmqxApiRestoreTest {

    final List<String> logLines = new CopyOnWriteArrayList<>();
    final Handler logCapture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            logLines.add(String.valueOf(record.getMessage()) + " " + java.util.Arrays.toString(record.getParameters())
                    + " " + record.getThrown());
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    @BeforeEach
    void captureLog() {
        Logger.getLogger("").addHandler(logCapture);
    }

    @AfterEach
    void releaseLog() {
        Logger.getLogger("").removeHandler(logCapture);
    }

    private void subscribed(String clientId, String filter, int qos) {
        event(
                clientId,
                "subscribed",
                "{\"clientid\":\"" + clientId + "\",\"topic\":\"" + filter + "\",\"subopts\":{\"qos\":" + qos
                        + ",\"nl\":0,\"rap\":0,\"rh\":0},\"ts\":" + System.currentTimeMillis() + "}");
        await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_sub", "clientid", clientId, "topic", filter)
                        .isPresent());
    }

    private void connected(String clientId) {
        long now = System.currentTimeMillis();
        event(
                clientId,
                "connected",
                "{\"clientid\":\"" + clientId + "\",\"username\":\"u\",\"ts\":" + now + ",\"connected_at\":" + now
                        + ",\"proto_ver\":5,\"clean_start\":true,\"keepalive\":60}");
    }

    @Test
    void aConnectedClientGetsItsStoredSubscriptionsBackThroughTheBulkEndpoint() throws Exception {
        String clientId = "dev/" + run + " 1";
        subscribed(clientId, "sensors/" + run + "/+/temp", 1);
        subscribed(clientId, "alerts/" + run, 2);
        emqx.connect(clientId);
        double before = restores("restored");

        connected(clientId);
        await().atMost(TIMEOUT).until(() -> restores("restored") >= before + 1);
        List<FakeEmqxApi.Request> requests = emqx.requestsFor(clientId);
        assertThat(requests).hasSize(1);
        FakeEmqxApi.Request request = requests.get(0);
        assertThat(request.method()).isEqualTo("POST");
        assertThat(request.rawPath()).isEqualTo("/api/v5/clients/dev%2F" + run + "%201/subscribe/bulk");
        assertThat(request.authorization()).isEqualTo(FakeEmqxApi.basic(EmqxApiProfile.KEY, EmqxApiProfile.SECRET));
        assertThat(request.body())
                .containsExactlyInAnyOrder(
                        JSON.readTree(
                                "{\"topic\":\"sensors/" + run + "/+/temp\",\"qos\":1,\"nl\":0,\"rap\":0,\"rh\":1}"),
                        JSON.readTree("{\"topic\":\"alerts/" + run + "\",\"qos\":2,\"nl\":0,\"rap\":0,\"rh\":1}"));
    }

    @Test
    void theRuleEnginesClientEventsStoreSubscriptionsAndRestoreThemOnConnect() {
        String clientId = "rule/" + run;
        long now = System.currentTimeMillis();
        ruleEvent("{\"event\":\"session.subscribed\",\"clientid\":\"" + clientId + "\",\"topic\":\"r/" + run
                + "/#\",\"qos\":1,\"sub_props\":{},\"timestamp\":" + now + ",\"node\":\"emqx@10.0.0.1\"}");
        await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_sub", "clientid", clientId, "topic", "r/" + run + "/#")
                        .isPresent());
        emqx.connect(clientId);
        double before = restores("restored");

        ruleEvent("{\"event\":\"client.connected\",\"clientid\":\"" + clientId + "\",\"username\":\"u\","
                + "\"connected_at\":" + (now + 1) + ",\"timestamp\":" + (now + 2) + ",\"node\":\"emqx@10.0.0.1\"}");
        await().atMost(TIMEOUT).until(() -> restores("restored") >= before + 1);
        assertThat(emqx.requestsFor(clientId)).hasSize(1);
        assertThat(tables.item("mqtt_client", "clientid", clientId).orElseThrow())
                .satisfies(row -> assertThat(row.get("node").s()).isEqualTo("emqx@10.0.0.1"));
    }

    @Test
    void aClientThatLeftAgainIsCountedAndNotRetried() {
        String clientId = "gone-" + run;
        subscribed(clientId, "t/" + run, 1);
        double before = restores("client_gone");
        connected(clientId);
        await().atMost(TIMEOUT).until(() -> restores("client_gone") >= before + 1);
        assertThat(emqx.requestsFor(clientId)).hasSize(1);
    }

    @Test
    void serverErrorsAndUnansweredRequestsAreRetried() {
        String clientId = "flaky-" + run;
        subscribed(clientId, "t/" + run, 1);
        emqx.connect(clientId);
        emqx.failNext(clientId, 503, FakeEmqxApi.NO_ANSWER);
        double before = restores("restored");
        connected(clientId);
        await().atMost(TIMEOUT).until(() -> restores("restored") >= before + 1);
        assertThat(emqx.requestsFor(clientId)).hasSize(3);
    }

    /**
     * The restore reads the rows once the connect is stored; a filter the client drops after connecting, even
     * while an attempt is under way, is left out of every attempt decided after that.
     */
    @Test
    void aFilterTheClientDropsAfterConnectingIsNotRestored() {
        String clientId = "dropping-" + run;
        String kept = "kept/" + run;
        String dropped = "dropped/" + run;
        subscribed(clientId, kept, 1);
        subscribed(clientId, dropped, 1);
        emqx.connect(clientId);
        // Two attempts unanswered (each ends after broker.api.timeout, 1 s), the third answered.
        emqx.failNext(clientId, FakeEmqxApi.NO_ANSWER, FakeEmqxApi.NO_ANSWER);
        double before = restores("restored");
        connected(clientId);
        await().atMost(TIMEOUT).until(() -> emqx.requestsFor(clientId).size() == 1);
        assertThat(topics(emqx.requestsFor(clientId).get(0))).containsExactlyInAnyOrder(kept, dropped);

        event(
                clientId,
                "unsubscribed",
                "{\"clientid\":\"" + clientId + "\",\"topic\":\"" + dropped + "\",\"ts\":" + System.currentTimeMillis()
                        + "}");
        // The event is decoded before its row is deleted: from here on the restore knows.
        await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_sub", "clientid", clientId, "topic", dropped)
                        .isEmpty());
        int sentBefore = emqx.requestsFor(clientId).size();
        await().atMost(TIMEOUT)
                .until(() -> emqx.requestsFor(clientId).size() == 3 && restores("restored") >= before + 1);
        List<FakeEmqxApi.Request> after = emqx.requestsFor(clientId).subList(sentBefore, 3);
        assertThat(after)
                .isNotEmpty()
                .allSatisfy(request -> assertThat(topics(request)).containsExactly(kept));
    }

    /** Once the client has subscribed to every stored filter itself, nothing is left to restore. */
    @Test
    void filtersTheClientSubscribedToItselfAreNotSentAgain() {
        String clientId = "resubscribing-" + run;
        String filter = "again/" + run;
        subscribed(clientId, filter, 1);
        emqx.connect(clientId);
        emqx.failNext(clientId, FakeEmqxApi.NO_ANSWER, FakeEmqxApi.NO_ANSWER);
        double before = restores("superseded");
        connected(clientId);
        await().atMost(TIMEOUT).until(() -> emqx.requestsFor(clientId).size() == 1);
        // The client subscribes itself, at another QoS: once the row says so, its event has been decoded.
        event(
                clientId,
                "subscribed",
                "{\"clientid\":\"" + clientId + "\",\"topic\":\"" + filter
                        + "\",\"subopts\":{\"qos\":2,\"nl\":0,\"rap\":0,\"rh\":0},\"ts\":"
                        + System.currentTimeMillis() + "}");
        await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_sub", "clientid", clientId, "topic", filter)
                        .map(row -> row.get("qos").n().equals("2"))
                        .orElse(false));
        int sentBefore = emqx.requestsFor(clientId).size();
        await().atMost(TIMEOUT).until(() -> restores("superseded") >= before + 1);
        assertThat(emqx.requestsFor(clientId)).hasSize(sentBefore);
    }

    private static List<String> topics(FakeEmqxApi.Request request) {
        return request.body().findValuesAsText("topic");
    }

    @Test
    void aClientWithoutStoredSubscriptionsNeedsNoRequest() {
        String clientId = "bare-" + run;
        emqx.connect(clientId);
        double nothing = restores("nothing_stored");
        connected(clientId);
        await().atMost(TIMEOUT).until(() -> restores("nothing_stored") >= nothing + 1);
        assertThat(emqx.requestsFor(clientId)).isEmpty();
    }

    @Test
    void aRefusedKeyIsCountedNotRetriedAndNeverLogged() {
        String clientId = "refused-" + run;
        subscribed(clientId, "t/" + run, 1);
        emqx.connect(clientId);
        double before = restores("unauthorized");
        emqx.revokeKey();
        try {
            connected(clientId);
            await().atMost(TIMEOUT).until(() -> restores("unauthorized") >= before + 1);
        } finally {
            emqx.restoreKey(EmqxApiProfile.KEY, EmqxApiProfile.SECRET);
        }
        assertThat(emqx.requestsFor(clientId)).hasSize(1);
        assertThat(logLines).anyMatch(line -> line.contains("refused"));
        String basic =
                FakeEmqxApi.basic(EmqxApiProfile.KEY, EmqxApiProfile.SECRET).substring("Basic ".length());
        assertThat(logLines).noneMatch(line -> line.contains(EmqxApiProfile.SECRET) || line.contains(basic));
    }

    @Test
    void aPartlyRefusedRestoreIsCountedAsFailedNamingTheRefusedFilters() {
        String clientId = "partly-" + run;
        subscribed(clientId, "allowed/" + run, 1);
        subscribed(clientId, "forbidden/" + run, 1);
        emqx.connect(clientId);
        emqx.refuseFilter("forbidden/" + run);
        double before = restores("failed");
        connected(clientId);
        await().atMost(TIMEOUT).until(() -> restores("failed") >= before + 1);
        assertThat(logLines).anyMatch(line -> line.contains("forbidden/" + run) && line.contains("not_authorized"));
    }

    /** Before EMQX 5.7.2 a node answers 404 for a client that another node of the cluster holds. */
    @Test
    void aNotFoundFromANodeWithoutTheClientIsRetriedNotTakenForAClientThatLeft() {
        String clientId = "elsewhere-" + run;
        subscribed(clientId, "t/" + run, 1);
        emqx.connect(clientId);
        emqx.otherNodeNext(clientId, 1);
        double before = restores("restored");
        connected(clientId);
        await().atMost(TIMEOUT).until(() -> restores("restored") >= before + 1);
        assertThat(emqx.requestsFor(clientId)).hasSize(2);
    }
}
