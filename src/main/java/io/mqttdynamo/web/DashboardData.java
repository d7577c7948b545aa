package io.mqttdynamo.web;

import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

import jakarta.enterprise.context.ApplicationScoped;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.broker.ChannelSession;
import io.mqttdynamo.cluster.ClusterView;
import io.mqttdynamo.cluster.ReplicaSnapshot;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.domain.TopicFilter;
import io.mqttdynamo.store.ClientReads;
import io.mqttdynamo.store.KeyLimits;
import io.mqttdynamo.store.MessageReads;
import io.mqttdynamo.store.RetainedReads;
import io.mqttdynamo.store.Rows;
import io.mqttdynamo.store.StoreMetrics;
import io.mqttdynamo.store.SubscriptionReads;
import io.mqttdynamo.store.TableCreator;
import io.mqttdynamo.store.WritePipeline;
import io.quarkus.logging.Log;
import io.quarkus.runtime.Startup;
import io.smallrye.mutiny.Uni;

/**
 * What the dashboard and the API show, gathered from the tables (bounded reads), the in-memory activity
 * and the pipeline's state. Also parses the user's filters and cursors, refusing bad ones.
 */
// Made at start-up, not at the first page: it gives the cluster view this replica's figures to publish.
@Startup
@ApplicationScoped
public class DashboardData {

    /** Rows of one page unless asked otherwise. */
    public static final int PAGE_SIZE = 25;

    public static final int MAX_PAGE_SIZE = 200;
    /** Names of the parameters in errors. */
    static final String CLIENT_ID = "client id";

    static final String TOPIC = "topic";
    static final String MSGID = "msgid";

    private final ClientReads clientReads;
    private final SubscriptionReads subscriptionReads;
    private final RetainedReads retainedReads;
    private final MessageReads messageReads;
    private final RecentActivity activity;
    private final Throughput throughput;
    private final BrokerSessions sessions;
    private final TableCreator tables;
    private final WritePipeline pipeline;
    private final StoreMetrics storeMetrics;
    private final ClusterView cluster;
    private final MeterRegistry registry;
    /** Recent messages whose metadata a replica shares with the others. */
    static final int SHARED_RECENT = 50;

    public DashboardData(
            ClientReads clientReads,
            SubscriptionReads subscriptionReads,
            RetainedReads retainedReads,
            MessageReads messageReads,
            RecentActivity activity,
            Throughput throughput,
            BrokerSessions sessions,
            TableCreator tables,
            WritePipeline pipeline,
            StoreMetrics storeMetrics,
            ClusterView cluster,
            MeterRegistry registry) {
        this.clientReads = clientReads;
        this.subscriptionReads = subscriptionReads;
        this.retainedReads = retainedReads;
        this.messageReads = messageReads;
        this.activity = activity;
        this.throughput = throughput;
        this.sessions = sessions;
        this.tables = tables;
        this.pipeline = pipeline;
        this.storeMetrics = storeMetrics;
        this.cluster = cluster;
        this.registry = registry;
        cluster.source(this::localSnapshot);
    }

    /** Clients known and online from the counters; -1 each while they cannot be read (tables not there yet). */
    Uni<ClientReads.ClientCounts> counts() {
        return clientReads
                .clientCounts()
                .invoke(counts -> activity.onlineCounted(counts.online()))
                .onFailure()
                .recoverWithItem(failure -> {
                    Log.debugf("client counters not read: %s", failure.getMessage());
                    return new ClientReads.ClientCounts(-1, -1);
                });
    }

    /** This replica's figures and health, as it tells the other replicas. */
    ReplicaSnapshot localSnapshot() {
        Throughput.Snapshot snapshot = throughput.snapshot();
        boolean brokerUp = !sessions.sessions().isEmpty()
                && sessions.sessions().values().stream().allMatch(ChannelSession::connected);
        String brokerProblem = brokerUp
                ? null
                : sessions.sessions().values().stream()
                        .map(ChannelSession::lastProblem)
                        .filter(p -> p != null)
                        .findFirst()
                        .orElse("connecting");
        // A table problem first; else DynamoDB refusing writes (intake paused, nothing lost) is what to show.
        String tableProblem = tables.problem() != null
                ? tables.problem()
                : pipeline.refusal().map(WritePipeline.Refusal::describe).orElse(null);
        long reconnects = sessions.sessions().values().stream()
                .mapToLong(ChannelSession::reconnects)
                .sum();
        long unacknowledged = sessions.sessions().values().stream()
                .mapToLong(ChannelSession::unacknowledged)
                .sum();
        List<ReplicaSnapshot.RecentMessage> recent = activity.recentMessages(topic -> true, SHARED_RECENT).stream()
                .map(m -> new ReplicaSnapshot.RecentMessage(
                        m.msgId(),
                        m.topic(),
                        m.qos(),
                        m.retain(),
                        m.sender(),
                        m.payloadSize(),
                        m.binary(),
                        m.leftOut(),
                        m.arrivedMillis()))
                .toList();
        return new ReplicaSnapshot(
                cluster.replica(),
                System.currentTimeMillis(),
                brokerUp,
                brokerProblem,
                tableProblem == null,
                tableProblem,
                pipeline.pending(),
                unacknowledged,
                reconnects,
                storeMetrics.lastError(),
                storeMetrics.lastErrorAtMillis(),
                snapshot.recentRate(10),
                snapshot.recentLatency(10),
                snapshot.endMillis(),
                snapshot.messagesPerSecond(),
                snapshot.writeLatencyMillis(),
                recent,
                delivery(),
                new ReplicaSnapshot.Refusals(
                        storeMetrics.refusedWrites(), storeMetrics.lastRefusal(), storeMetrics.lastRefusalAtMillis()),
                throughput.writeUnitsPerSecond());
    }

    /**
     * This replica's delivery counts, read by name from the counters the delivery functions keep (a counter
     * not made yet counts 0).
     */
    ReplicaSnapshot.Delivery delivery() {
        long failed = count("mqtt_dynamo_subscription_restores", "result", "failed")
                + count("mqtt_dynamo_subscription_restores", "result", "unauthorized")
                + count("mqtt_dynamo_subscription_restores", "result", "busy");
        return new ReplicaSnapshot.Delivery(
                count("mqtt_dynamo_subscription_restores", "result", "restored"),
                failed,
                count("mqtt_dynamo_queued_messages_fetched", "result", "delivered"),
                count("mqtt_dynamo_retained_synced", "direction", "stored"),
                count("mqtt_dynamo_retained_synced", "direction", "republished"));
    }

    private long count(String name, String tag, String value) {
        return Math.round(registry.find(name).tag(tag, value).counters().stream()
                .mapToDouble(Counter::count)
                .sum());
    }

    /** Messages/s over the last 10 s, summed over the replicas. */
    public double clusterRate() {
        return cluster.replicas(localSnapshot()).stream()
                .mapToDouble(ReplicaSnapshot::messagesPerSecond)
                .sum();
    }

    /**
     * The dashboard's header for the whole cluster: rates, pending writes, unacknowledged messages and
     * reconnects summed over the replicas this one hears of, health and problems of all of them, the
     * chart's series added second by second. Client counts are this replica's.
     */
    public Uni<Overview> overview() {
        return counts().map(counts -> {
            ReplicaSnapshot self = localSnapshot();
            return Overview.of(counts.online(), counts.known(), sessions.address(), cluster.replicas(self));
        });
    }

    /** Clients: all, or online ones (on {@code node} when given), with ids starting with {@code prefix}. */
    public Uni<Rows.Page<Rows.Client>> clients(
            boolean onlineOnly, String prefix, String node, String cursor, String limit) {
        if (prefix != null && !prefix.isEmpty()) {
            // the prefix is matched against the indexes' sort key
            KeyLimits.sortKey(CLIENT_ID + " prefix", prefix);
        }
        String onNode = node == null || node.isEmpty() ? null : node;
        if (onNode != null && !onlineOnly) {
            throw new IllegalArgumentException("'node' selects online clients: add online=true");
        }
        return clientReads.clients(onlineOnly, prefix, onNode, cursor, pageSize(limit));
    }

    public Uni<Optional<Rows.Client>> client(String clientId) {
        return clientReads.client(KeyLimits.partitionKey(CLIENT_ID, clientId));
    }

    public Uni<List<Rows.Subscription>> subscriptionsOf(String clientId) {
        return subscriptionReads.subscriptionsOf(KeyLimits.partitionKey(CLIENT_ID, clientId));
    }

    public Uni<Rows.Page<Rows.Ack>> acksOf(String clientId, String cursor) {
        return messageReads.acksOf(clientId, cursor, PAGE_SIZE);
    }

    /**
     * Subscriptions; {@code q} is a client id (its subscriptions) or a subscribed filter (who subscribed
     * to exactly it): both are Queries, of the table and of its topic index.
     */
    public Uni<Rows.Page<Rows.Subscription>> subscriptions(String q, String cursor, String limit) {
        if (q == null || q.isEmpty()) {
            return subscriptionReads.subscriptions(sub -> true, cursor, pageSize(limit));
        }
        return subscriptionReads.subscriptionsLookup(KeyLimits.partitionKey(CLIENT_ID, q), cursor, pageSize(limit));
    }

    /**
     * Retained messages on topics matching {@code filter} (an MQTT topic filter; all when empty), with the start
     * of their payloads ({@link MessageView#listed}).
     */
    public Uni<Rows.Page<MessageView>> retained(String filter, String cursor, String limit) {
        Predicate<String> keep = topicPredicate(filter);
        return retainedReads
                .retained(keep, cursor, pageSize(limit))
                .map(page -> new Rows.Page<>(
                        page.items().stream().map(MessageView::listed).toList(), page.next()));
    }

    public Uni<Optional<MessageView>> retainedOf(String topic) {
        return retainedReads.retainedOf(KeyLimits.partitionKey(TOPIC, topic)).map(m -> m.map(MessageView::of));
    }

    /** A stored message by its id, whole. */
    public Uni<Optional<MessageView>> message(String msgId) {
        return messageReads.message(KeyLimits.partitionKey(MSGID, msgId)).map(m -> m.map(MessageView::of));
    }

    /** A topic's pending (unacked) messages, newest first, at most a page, with the start of their payloads. */
    public Uni<List<MessageView>> pending(String topic) {
        return messageReads
                .pendingIds(KeyLimits.partitionKey(TOPIC, topic))
                .flatMap(ids -> {
                    List<String> newest = ids.stream()
                            .sorted(EmqxMsgId.OLDEST_FIRST.reversed())
                            .limit(PAGE_SIZE)
                            .toList();
                    return messageReads.messages(newest);
                })
                .map(messages -> messages.stream().map(MessageView::listed).toList());
    }

    /**
     * Messages the replicas stored lately on topics matching {@code filter}, newest first: this replica's
     * with their payload's start, the others' with their metadata only (an empty preview, cut).
     */
    public List<MessageView> recent(String filter, int limit) {
        Predicate<String> keep = topicPredicate(filter);
        List<MessageView> all = new java.util.ArrayList<>(activity.recentMessages(keep, limit).stream()
                .map(MessageView::of)
                .toList());
        List<ReplicaSnapshot> replicas = cluster.replicas(new ReplicaSnapshot(
                cluster.replica(),
                0,
                true,
                null,
                true,
                null,
                0,
                0,
                0,
                null,
                0,
                0,
                0,
                0,
                new double[0],
                new double[0],
                List.of(),
                null,
                null,
                null));
        for (ReplicaSnapshot other : replicas.subList(1, replicas.size())) {
            for (ReplicaSnapshot.RecentMessage m : other.recent()) {
                if (keep.test(m.topic())) {
                    all.add(new MessageView(
                            m.msgId(),
                            m.topic(),
                            m.qos(),
                            m.sender(),
                            m.retain(),
                            m.arrivedMillis(),
                            PayloadView.of(new byte[0], m.payloadSize(), m.binary(), m.leftOut())));
                }
            }
        }
        all.sort(java.util.Comparator.comparingLong(MessageView::arrivedMillis).reversed());
        return all.size() > limit ? List.copyOf(all.subList(0, limit)) : all;
    }

    /** A topic filter's predicate; all topics for an empty filter; IllegalArgumentException when invalid. */
    public static Predicate<String> topicPredicate(String filter) {
        if (filter == null || filter.isBlank()) {
            return topic -> true;
        }
        TopicFilter parsed = TopicFilter.parse(filter);
        return parsed::matches;
    }

    /** Rows per page: {@code limit} given as text, a whole number from 1 to {@value #MAX_PAGE_SIZE}. */
    static int pageSize(String limit) {
        if (limit == null) {
            return PAGE_SIZE;
        }
        if (!limit.matches("[0-9]{1,3}") || Integer.parseInt(limit) < 1 || Integer.parseInt(limit) > MAX_PAGE_SIZE) {
            throw new IllegalArgumentException(
                    "'limit' must be a whole number from 1 to " + MAX_PAGE_SIZE + " (default " + PAGE_SIZE + "), got: "
                            + (limit.length() > 20 ? limit.substring(0, 20) + "…" : limit));
        }
        return Integer.parseInt(limit);
    }

    /** Rows per page of the dashboard's own tables. */
    public Uni<Rows.Page<Rows.Client>> clients(boolean onlineOnly, int rows) {
        return clientReads.clients(onlineOnly, null, null, null, rows);
    }

    /** Retained messages of the dashboard's own table. */
    public Uni<Rows.Page<MessageView>> retained(int rows) {
        return retainedReads
                .retained(topic -> true, null, rows)
                .map(page -> new Rows.Page<>(
                        page.items().stream().map(MessageView::listed).toList(), page.next()));
    }
}
