package io.mqttdynamo.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.broker.ProtocolVersion;
import io.mqttdynamo.config.Lifecycle;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.EventTopics;
import io.mqttdynamo.ingest.LogSafe;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.Cancellable;

/**
 * The replicas as one: each publishes a {@link ReplicaSnapshot} of itself every
 * {@value #INTERVAL_MILLIS} ms on {@code mqtt-dynamo/cluster/<replica>} (QoS 0, retained, expiring after
 * {@value #EXPIRY_SECONDS} s; its will clears it when the process dies) and reads everyone's with a
 * plain, non-shared subscription. A replica not heard of for {@value #EXPIRY_SECONDS} s is gone from the
 * view. On a clean connection of its own (clean start, no session), so the ingest sessions are untouched.
 *
 * <p>Anyone the broker lets publish on {@code mqtt-dynamo/cluster/+} is believed: the broker's ACL must keep
 * that topic to the service's own user. What is heard is bounded all the same ({@link HeardReplicas}): at most
 * {@code cluster.max-replicas} names, none kept past the expiry, no snapshot over
 * {@value HeardReplicas#MAX_SNAPSHOT_BYTES} bytes (the connection tells the broker so: an MQTT 5 broker does
 * not send it larger packets).
 */
@ApplicationScoped
public class ClusterView {

    static final long INTERVAL_MILLIS = 2_000;
    static final long EXPIRY_SECONDS = 10;

    /** Largest packet this connection takes: a snapshot and a topic of MQTT's longest, with room for properties. */
    static final int MAX_PACKET_BYTES = HeardReplicas.MAX_SNAPSHOT_BYTES + 65_535 + 1_024;

    /** Longest wait, when the replica stops, for the broker to take its leaving (its snapshot cleared). */
    static final Duration LEAVE_TIMEOUT = Duration.ofSeconds(4);

    private final BrokerSessions sessions;
    private final ObjectMapper json;
    private final boolean enabled;
    private final String replica;
    private final HeardReplicas heard;
    private final AtomicBoolean droppedBefore = new AtomicBoolean();
    private volatile Supplier<ReplicaSnapshot> local;
    private volatile Mqtt5AsyncClient client;
    private volatile Cancellable timer;

    public ClusterView(BrokerSessions sessions, ObjectMapper json, MqttDynamoConfig config, MeterRegistry registry) {
        this.sessions = sessions;
        this.json = json;
        this.enabled = config.cluster().enabled();
        this.replica = sessions.clientIdBase();
        this.heard = new HeardReplicas(json, config.cluster().maxReplicas(), TimeUnit.SECONDS.toNanos(EXPIRY_SECONDS));
        Gauge.builder("mqtt_dynamo_cluster_replicas", this, ClusterView::replicasInView)
                .description("Replicas in this replica's cluster view, itself included; 0 while the view is off"
                        + " (cluster.enabled false, or a broker without MQTT 5) or not connected")
                .register(registry);
    }

    /** This replica and the others heard within the expiry; 0 while the view has no connection to the broker. */
    private int replicasInView() {
        Mqtt5AsyncClient c = client;
        if (c == null || !c.getState().isConnected()) {
            return 0;
        }
        return 1 + heard.liveCount(replica, System.nanoTime());
    }

    /** This replica's name in the view (the base of its MQTT client ids). */
    public String replica() {
        return replica;
    }

    /** Where this replica's own snapshot comes from (the dashboard's data). */
    public void source(Supplier<ReplicaSnapshot> snapshot) {
        this.local = snapshot;
    }

    void onStart(@Observes StartupEvent event) {
        if (!enabled) {
            return;
        }
        sessions.protocolVersion()
                .subscribe()
                .with(
                        version -> {
                            if (version != ProtocolVersion.MQTT_5) {
                                Log.infof(
                                        "The broker speaks %s: the dashboard shows this replica only (the cluster view needs MQTT 5"
                                                + " message expiry)",
                                        version);
                                return;
                            }
                            connect();
                        },
                        failure -> Log.warnf("cluster view not started: %s", failure.getMessage()));
    }

    private void connect() {
        String topic = EventTopics.CLUSTER_PREFIX + replica;
        Mqtt5AsyncClient c = sessions.clientBuilder(replica + "-cluster")
                .automaticReconnectWithDefaultConfig()
                .useMqttVersion5()
                // A replica that dies without a word clears its snapshot (an empty retained message deletes it).
                .willPublish()
                .topic(topic)
                .payload(new byte[0])
                .qos(MqttQos.AT_MOST_ONCE)
                .retain(true)
                .applyWillPublish()
                .addConnectedListener(context -> subscribe())
                .buildAsync();
        c.publishes(MqttGlobalPublishFilter.ALL, this::onSnapshot);
        this.client = c;
        c.connectWith()
                .cleanStart(true)
                .simpleAuth(sessions.mqtt5Auth())
                // MQTT 5.0, 3.1.2.11.4: the broker does not send this connection packets over this size.
                .restrictions()
                .maximumPacketSize(MAX_PACKET_BYTES)
                .applyRestrictions()
                .send()
                .whenComplete((ack, failure) -> {
                    if (failure != null) {
                        Log.warnf("cluster view: cannot connect yet (%s); retrying", failure.getMessage());
                    }
                });
        timer = Multi.createFrom()
                .ticks()
                .every(Duration.ofMillis(INTERVAL_MILLIS))
                .subscribe()
                .with(tick -> publish());
    }

    private void subscribe() {
        Mqtt5AsyncClient c = client;
        if (c != null) {
            c.subscribeWith()
                    .topicFilter(EventTopics.CLUSTER_ALL)
                    .qos(MqttQos.AT_MOST_ONCE)
                    .send();
        }
    }

    private void publish() {
        Supplier<ReplicaSnapshot> source = local;
        Mqtt5AsyncClient c = client;
        if (source == null || c == null || !c.getState().isConnected()) {
            return;
        }
        heard.expire(System.nanoTime());
        try {
            ReplicaSnapshot snapshot = source.get();
            byte[] payload = json.writeValueAsBytes(snapshot);
            if (payload.length > HeardReplicas.MAX_SNAPSHOT_BYTES) {
                // Long topics or client ids among the recent messages: the others get the figures without them.
                payload = json.writeValueAsBytes(withoutRecent(snapshot));
            }
            if (payload.length > HeardReplicas.MAX_SNAPSHOT_BYTES) {
                Log.debugf("cluster snapshot not published: %d bytes", payload.length);
                return;
            }
            c.publishWith()
                    .topic(EventTopics.CLUSTER_PREFIX + replica)
                    .qos(MqttQos.AT_MOST_ONCE)
                    .retain(true)
                    .messageExpiryInterval(EXPIRY_SECONDS)
                    .payload(payload)
                    .send();
        } catch (Exception e) {
            Log.debugf("cluster snapshot not published: %s", e.getMessage());
        }
    }

    private static ReplicaSnapshot withoutRecent(ReplicaSnapshot s) {
        return new ReplicaSnapshot(
                s.replica(),
                s.atMillis(),
                s.brokerUp(),
                s.brokerProblem(),
                s.dynamoUp(),
                s.tablesProblem(),
                s.pendingWrites(),
                s.unacknowledgedMessages(),
                s.reconnects(),
                s.lastError(),
                s.lastErrorAtMillis(),
                s.messagesPerSecond(),
                s.writeLatencyMillis(),
                s.chartEndMillis(),
                s.messagesPerSecondSeries(),
                s.writeLatencySeries(),
                List.of(),
                s.delivery(),
                s.refusals(),
                s.writeUnitsPerSecond());
    }

    void onSnapshot(Mqtt5Publish publish) {
        String topic = publish.getTopic().toString();
        if (!topic.startsWith(EventTopics.CLUSTER_PREFIX)) {
            return;
        }
        String from = topic.substring(EventTopics.CLUSTER_PREFIX.length());
        byte[] payload = publish.getPayloadAsBytes();
        HeardReplicas.Outcome outcome = heard.offer(from, payload, System.nanoTime());
        if (outcome == HeardReplicas.Outcome.KEPT || outcome == HeardReplicas.Outcome.CLEARED) {
            return;
        }
        String what = outcome == HeardReplicas.Outcome.TOO_LARGE
                ? payload.length + " bytes, more than " + HeardReplicas.MAX_SNAPSHOT_BYTES
                : outcome == HeardReplicas.Outcome.UNREADABLE ? "unreadable" : "names another replica";
        if (droppedBefore.compareAndSet(false, true)) {
            Log.warnf(
                    "cluster view: a message on %s dropped (%s); more are logged at DEBUG. Only the service's own"
                            + " MQTT user should be allowed to publish on mqtt-dynamo/cluster/#",
                    LogSafe.of(topic), what);
        } else {
            Log.debugf("cluster view: a message on %s dropped (%s)", LogSafe.of(topic), what);
        }
    }

    /**
     * Every replica's latest snapshot, this one's fresh, the others' as last heard within
     * {@value #EXPIRY_SECONDS} s; this replica first, then by name.
     */
    public List<ReplicaSnapshot> replicas(ReplicaSnapshot self) {
        List<ReplicaSnapshot> all = new ArrayList<>();
        all.add(self);
        all.addAll(heard.live(self.replica(), System.nanoTime()));
        all.subList(1, all.size()).sort(Comparator.comparing(ReplicaSnapshot::replica));
        return all;
    }

    void onStop(@Observes @Priority(Lifecycle.STOP_MQTT_SESSIONS) ShutdownEvent event) {
        Cancellable ticks = timer;
        if (ticks != null) {
            ticks.cancel();
        }
        Mqtt5AsyncClient c = client;
        if (c != null && c.getState().isConnected()) {
            try {
                // Leaving: the others drop this replica at once. Blocking once is right here: this is the shutdown
                // thread, and the empty snapshot must reach the broker before the process ends.
                Uni.createFrom()
                        .completionStage(() -> c.publishWith()
                                .topic(EventTopics.CLUSTER_PREFIX + replica)
                                .qos(MqttQos.AT_LEAST_ONCE)
                                .retain(true)
                                .payload(new byte[0])
                                .send())
                        .chain(() -> Uni.createFrom().completionStage(c::disconnect))
                        .await()
                        .atMost(LEAVE_TIMEOUT);
            } catch (RuntimeException e) {
                Log.debugf("cluster view: %s", e.getMessage());
            }
        }
    }
}
