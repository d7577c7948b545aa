package io.mqttdynamo.web;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.function.Predicate;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.mqttdynamo.config.LiveReload;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.Payloads;
import io.mqttdynamo.ingest.EventStored;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.operators.multi.processors.BroadcastProcessor;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * What this instance stored lately, kept in memory for the dashboard: the last messages, and a stream
 * of which kind of data just changed (so that pages refresh only what moved). In dev mode the messages
 * outlive live reloads ({@link LiveReload}).
 */
@ApplicationScoped
public class RecentActivity {

    /** Most messages remembered. */
    public static final int CAPACITY = 200;
    /** Bytes of a payload remembered for previews. */
    public static final int PREVIEW_BYTES = 1024;

    private static final String KEPT = "recent-messages";

    /** What changed in the tables. */
    public enum Change {
        CLIENTS,
        SUBSCRIPTIONS,
        MESSAGES,
        RETAINED,
        ACKS
    }

    /**
     * A message as stored. {@code payloadStart} holds at most {@link #PREVIEW_BYTES} of the payload, cut
     * on a character boundary when it is text; {@code binary} tells whether the whole payload is not
     * UTF-8; {@code leftOut} whether the item was stored without its payload (too large).
     */
    public record StoredMessage(
            String msgId,
            String topic,
            int qos,
            boolean retain,
            String sender,
            byte[] payloadStart,
            int payloadSize,
            boolean binary,
            boolean leftOut,
            long arrivedMillis) {}

    private final ArrayDeque<StoredMessage> messages = new ArrayDeque<>(CAPACITY);
    /** Clients online as the counters said when last read (the live stream's figure). */
    private volatile long onlineCounted = -1;

    private final BroadcastProcessor<Change> changes = BroadcastProcessor.create();
    private final int maxStoredPayload;
    private final Vertx vertx;

    public RecentActivity(MqttDynamoConfig config, Vertx vertx) {
        this.maxStoredPayload = config.messages().maxStoredPayload();
        this.vertx = vertx;
    }

    /** In dev mode: takes the messages the application before the live reload left. */
    void onStart(@Observes StartupEvent event) {
        if (LiveReload.devMode() && LiveReload.kept(vertx).remove(KEPT) instanceof JsonArray kept) {
            synchronized (messages) {
                // Before whatever arrived already: those are newer.
                for (int i = kept.size() - 1; i >= 0 && messages.size() < CAPACITY; i--) {
                    JsonObject m = kept.getJsonObject(i);
                    messages.addFirst(new StoredMessage(
                            m.getString("msgId"),
                            m.getString("topic"),
                            m.getInteger("qos"),
                            m.getBoolean("retain"),
                            m.getString("sender"),
                            m.getBinary("payloadStart"),
                            m.getInteger("payloadSize"),
                            m.getBoolean("binary"),
                            m.getBoolean("leftOut"),
                            m.getLong("arrivedMillis")));
                }
            }
        }
    }

    /** Before a live reload: leaves the messages to the next application (as JSON: its classes are new). */
    void onStop(@Observes ShutdownEvent event) {
        if (!LiveReload.stoppingForReload()) {
            return;
        }
        JsonArray kept = new JsonArray();
        synchronized (messages) {
            for (StoredMessage m : messages) {
                kept.add(new JsonObject()
                        .put("msgId", m.msgId())
                        .put("topic", m.topic())
                        .put("qos", m.qos())
                        .put("retain", m.retain())
                        .put("sender", m.sender())
                        .put("payloadStart", m.payloadStart())
                        .put("payloadSize", m.payloadSize())
                        .put("binary", m.binary())
                        .put("leftOut", m.leftOut())
                        .put("arrivedMillis", m.arrivedMillis()));
            }
        }
        LiveReload.kept(vertx).put(KEPT, kept);
    }

    /** Called once the writes of an event are stored. */
    void stored(@Observes EventStored stored) {
        BrokerEvent event = stored.event();
        if (event instanceof BrokerEvent.MessagePublished m) {
            synchronized (messages) {
                if (messages.size() == CAPACITY) {
                    messages.removeFirst();
                }
                byte[] payload = m.payload();
                boolean binary = Payloads.utf8(payload).isEmpty();
                int keep =
                        binary ? Math.min(PREVIEW_BYTES, payload.length) : Payloads.utf8Prefix(payload, PREVIEW_BYTES);
                messages.addLast(new StoredMessage(
                        m.msgId(),
                        m.topic(),
                        m.qos(),
                        m.retain(),
                        m.sender(),
                        Arrays.copyOf(payload, keep),
                        payload.length,
                        binary,
                        payload.length > maxStoredPayload,
                        m.arrivedMillis()));
            }
            emit(m.retain() ? Change.RETAINED : Change.MESSAGES);
            if (m.retain()) {
                emit(Change.MESSAGES);
            }
        } else if (event instanceof BrokerEvent.ClientConnected || event instanceof BrokerEvent.ClientDisconnected) {
            emit(Change.CLIENTS);
        } else if (event instanceof BrokerEvent.ClientSubscribed || event instanceof BrokerEvent.ClientUnsubscribed) {
            emit(Change.SUBSCRIPTIONS);
        } else if (event instanceof BrokerEvent.MessageAcked) {
            emit(Change.ACKS);
        }
    }

    /** The online count as last read from the counters. */
    public void onlineCounted(long online) {
        onlineCounted = online;
    }

    /** Clients online as the counters said when last read (-1 before). */
    public int onlineCount() {
        return (int) Math.min(Integer.MAX_VALUE, onlineCounted);
    }

    private void emit(Change change) {
        synchronized (changes) {
            changes.onNext(change);
        }
    }

    /** The newest messages first, those whose topic passes {@code filter}, at most {@code limit}. */
    public List<StoredMessage> recentMessages(Predicate<String> topicFilter, int limit) {
        List<StoredMessage> result = new ArrayList<>();
        synchronized (messages) {
            Iterator<StoredMessage> newestFirst = messages.descendingIterator();
            while (newestFirst.hasNext() && result.size() < limit) {
                StoredMessage message = newestFirst.next();
                if (topicFilter.test(message.topic())) {
                    result.add(message);
                }
            }
        }
        return result;
    }

    /** The changes from now on. */
    public Multi<Change> changes() {
        return changes;
    }
}
