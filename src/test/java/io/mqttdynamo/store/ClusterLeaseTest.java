package io.mqttdynamo.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.DynamoDbProxy;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.TestTables;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/** The lease of a job in mqtt_dynamo_stats, held by one replica at a time, against a local DynamoDB server. */
class ClusterLeaseTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static DynaliteServer dynalite;
    private static DynamoDbAsyncClient dynamo;

    @BeforeAll
    static void start() throws Exception {
        dynalite = DynaliteServer.start(
                Path.of("local-dynamodb"), "127.0.0.1", LocalDynamoDbResource.freePort(), Optional.empty());
        dynamo = TestTables.client(dynalite.endpoint());
        TestTables.create(dynamo, Tables.STATS);
    }

    @AfterAll
    static void stop() {
        dynamo.close();
        dynalite.close();
    }

    private static String job() {
        return "job-" + System.nanoTime();
    }

    /** The lease item as another replica that died or took it over left it. */
    private static void leftBy(String job, String owner, long untilMillis) throws Exception {
        dynamo.putItem(b -> b.tableName(Tables.STATS.tableName())
                        .item(Map.of(
                                Tables.Attr.NAME, AttributeValue.fromS("lease#" + job),
                                ClusterLease.OWNER, AttributeValue.fromS(owner),
                                ClusterLease.UNTIL, AttributeValue.fromN(Long.toString(untilMillis)))))
                .get(10, TimeUnit.SECONDS);
    }

    private static boolean refused(ClusterLease lease) {
        try {
            lease.take().await().atMost(TIMEOUT).release().await().atMost(TIMEOUT);
            return false;
        } catch (ClusterLease.HeldElsewhereException e) {
            return true;
        }
    }

    @Test
    void oneReplicaHoldsItUntilItGivesItUp() {
        String job = job();
        ClusterLease a = new ClusterLease(dynamo, job, "replica-a", Duration.ofSeconds(30));
        ClusterLease b = new ClusterLease(dynamo, job, "replica-b", Duration.ofSeconds(30));
        ClusterLease.Held held = a.take().await().atMost(TIMEOUT);
        assertThatThrownBy(() -> b.take().await().atMost(TIMEOUT))
                .isInstanceOf(ClusterLease.HeldElsewhereException.class)
                .hasMessageContaining("replica-a holds the lease of " + job);
        held.release().await().atMost(TIMEOUT);
        b.take().await().atMost(TIMEOUT).release().await().atMost(TIMEOUT);
    }

    @Test
    void aDeadHoldersLeaseIsTakenOnceItRunsOut() throws Exception {
        String job = job();
        ClusterLease b = new ClusterLease(dynamo, job, "replica-b", Duration.ofSeconds(30));
        leftBy(job, "replica-dead", System.currentTimeMillis() + 60_000);
        assertThat(refused(b)).isTrue();
        leftBy(job, "replica-dead", System.currentTimeMillis() - 1);
        assertThat(refused(b)).isFalse();
    }

    @Test
    void aRunningJobsLeaseIsRenewedPastItsTerm() {
        String job = job();
        ClusterLease a = new ClusterLease(dynamo, job, "replica-a", Duration.ofMillis(900));
        ClusterLease b = new ClusterLease(dynamo, job, "replica-b", Duration.ofSeconds(30));
        ClusterLease.Held held = a.take().await().atMost(TIMEOUT);
        // Three terms: without renewals, b would take it after the first.
        await().during(Duration.ofMillis(2_700)).atMost(TIMEOUT).until(() -> refused(b) && !held.lost());
        held.release().await().atMost(TIMEOUT);
        assertThat(refused(b)).isFalse();
    }

    @Test
    void aHolderKnowsWhenAnotherTookItsLease() throws Exception {
        String job = job();
        ClusterLease a = new ClusterLease(dynamo, job, "replica-a", Duration.ofMillis(900));
        ClusterLease.Held held = a.take().await().atMost(TIMEOUT);
        leftBy(job, "replica-b", System.currentTimeMillis() + 60_000);
        await().atMost(TIMEOUT).until(held::lost);
        // Giving it up leaves the other's lease alone.
        held.release().await().atMost(TIMEOUT);
        assertThat(refused(new ClusterLease(dynamo, job, "replica-c", Duration.ofSeconds(30))))
                .isTrue();
    }

    @Test
    void aHolderWhoseRenewalsDoNotGetThroughStopsBelievingItHoldsIt() throws Exception {
        String job = job();
        try (DynamoDbProxy proxy = DynamoDbProxy.start(dynalite.endpoint())) {
            DynamoDbAsyncClient viaProxy = TestTables.client(proxy.endpoint());
            ClusterLease.Held held = new ClusterLease(viaProxy, job, "replica-a", Duration.ofMillis(900))
                    .take()
                    .await()
                    .atMost(TIMEOUT);
            proxy.fault(request -> DynamoDbProxy.Fault.error(500, "InternalServerError", "unreachable"));
            await().atMost(TIMEOUT).until(held::lost);
            viaProxy.close();
        }
    }
}
