package io.mqttdynamo.web;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;

import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.broker.ProtocolVersion;
import io.mqttdynamo.config.Lifecycle;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.EventTopics;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;

/**
 * The replicas as one: each publishes a {@link ReplicaSnapshot} of itself every
 * {@value #INTERVAL_MILLIS} ms on {@code mqtt-dynamo/cluster/<replica>} (QoS 0, retained, expiring after
 * {@value #EXPIRY_SECONDS} s; its will clears it when the process dies) and reads everyone's with a
 * plain, non-shared subscription. A replica not heard of for {@value #EXPIRY_SECONDS} s is gone from the
 * view. On a clean connection of its own (clean start, no session), so the ingest sessions are untouched.
 */
@ApplicationScoped
public class ClusterView {

    static final long INTERVAL_MILLIS = 2_000;
    static final long EXPIRY_SECONDS = 10;

    private record Heard(ReplicaSnapshot snapshot, long atNanos) {
    }

    private final BrokerSessions sessions;
    private final Vertx vertx;
    private final ObjectMapper json;
    private final boolean enabled;
    private final String replica;
    private final Map<String, Heard> heard = new ConcurrentHashMap<>();
    private volatile Supplier<ReplicaSnapshot> local;
    private volatile Mqtt5AsyncClient client;
    private volatile long timer = -1;

    public ClusterView(BrokerSessions sessions, Vertx vertx, ObjectMapper json, MqttDynamoConfig config) {
        this.sessions = sessions;
        this.vertx = vertx;
        this.json = json;
        this.enabled = config.cluster().enabled();
        this.replica = sessions.clientIdBase();
    }

    /** This replica's name in the view (the base of its MQTT client ids). */
    public String replica() {
        return replica;
    }

    /** Where this replica's own snapshot comes from (the dashboard's data). */
    void source(Supplier<ReplicaSnapshot> snapshot) {
        this.local = snapshot;
    }

    void onStart(@Observes StartupEvent event) {
        if (!enabled) {
            return;
        }
        sessions.protocolVersion().subscribe().with(version -> {
            if (version != ProtocolVersion.MQTT_5) {
                Log.infof("The broker speaks %s: the dashboard shows this replica only (the cluster view needs MQTT 5"
                        + " message expiry)", version);
                return;
            }
            connect();
        }, failure -> Log.warnf("cluster view not started: %s", failure.getMessage()));
    }

    private void connect() {
        String topic = EventTopics.CLUSTER_PREFIX + replica;
        Mqtt5AsyncClient c = sessions.builderFor(replica + "-cluster")
                .automaticReconnectWithDefaultConfig()
                .useMqttVersion5()
                // A replica that dies without a word clears its snapshot (an empty retained message deletes it).
                .willPublish().topic(topic).payload(new byte[0]).qos(MqttQos.AT_MOST_ONCE).retain(true).applyWillPublish()
                .addConnectedListener(context -> subscribe())
                .buildAsync();
        c.publishes(MqttGlobalPublishFilter.ALL, this::onSnapshot);
        this.client = c;
        c.connectWith().cleanStart(true).simpleAuth(sessions.mqtt5Auth()).send()
                .whenComplete((ack, failure) -> {
                    if (failure != null) {
                        Log.warnf("cluster view: cannot connect yet (%s); retrying", failure.getMessage());
                    }
                });
        timer = vertx.setPeriodic(INTERVAL_MILLIS, id -> publish());
    }

    private void subscribe() {
        Mqtt5AsyncClient c = client;
        if (c != null) {
            c.subscribeWith().topicFilter(EventTopics.CLUSTER_ALL).qos(MqttQos.AT_MOST_ONCE).send();
        }
    }

    private void publish() {
        Supplier<ReplicaSnapshot> source = local;
        Mqtt5AsyncClient c = client;
        if (source == null || c == null || !c.getState().isConnected()) {
            return;
        }
        try {
            byte[] payload = json.writeValueAsBytes(source.get());
            c.publishWith().topic(EventTopics.CLUSTER_PREFIX + replica).qos(MqttQos.AT_MOST_ONCE).retain(true)
                    .messageExpiryInterval(EXPIRY_SECONDS).payload(payload).send();
        } catch (Exception e) {
            Log.debugf("cluster snapshot not published: %s", e.getMessage());
        }
    }

    private void onSnapshot(Mqtt5Publish publish) {
        String topic = publish.getTopic().toString();
        if (!topic.startsWith(EventTopics.CLUSTER_PREFIX)) {
            return;
        }
        String from = topic.substring(EventTopics.CLUSTER_PREFIX.length());
        byte[] payload = publish.getPayloadAsBytes();
        if (payload.length == 0) {
            heard.remove(from);
            return;
        }
        try {
            ReplicaSnapshot snapshot = json.readValue(payload, ReplicaSnapshot.class);
            if (from.equals(snapshot.replica())) {
                heard.put(from, new Heard(snapshot, System.nanoTime()));
            }
        } catch (Exception e) {
            Log.debugf("cluster snapshot on %s unreadable: %s", topic,
                    new String(payload, 0, Math.min(payload.length, 80), StandardCharsets.UTF_8));
        }
    }

    /**
     * Every replica's latest snapshot, this one's fresh, the others' as last heard within
     * {@value #EXPIRY_SECONDS} s; this replica first, then by name.
     */
    public List<ReplicaSnapshot> replicas(ReplicaSnapshot self) {
        long now = System.nanoTime();
        List<ReplicaSnapshot> all = new ArrayList<>();
        all.add(self);
        heard.forEach((name, h) -> {
            if (now - h.atNanos() > TimeUnit.SECONDS.toNanos(EXPIRY_SECONDS)) {
                heard.remove(name, h);
            } else if (!name.equals(self.replica())) {
                all.add(h.snapshot());
            }
        });
        all.subList(1, all.size()).sort(Comparator.comparing(ReplicaSnapshot::replica));
        return all;
    }

    void onStop(@Observes @Priority(Lifecycle.STOP_MQTT_SESSIONS) ShutdownEvent event) {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
        Mqtt5AsyncClient c = client;
        if (c != null && c.getState().isConnected()) {
            try {
                // Leaving: the others drop this replica at once.
                c.publishWith().topic(EventTopics.CLUSTER_PREFIX + replica).qos(MqttQos.AT_LEAST_ONCE).retain(true)
                        .payload(new byte[0]).send().get(2, TimeUnit.SECONDS);
                c.disconnect().get(2, TimeUnit.SECONDS);
            } catch (Exception e) {
                Log.debugf("cluster view: %s", e.getMessage());
            }
        }
    }
}
