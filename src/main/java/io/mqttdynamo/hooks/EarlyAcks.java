package io.mqttdynamo.hooks;

import static io.mqttdynamo.store.Tables.Attr;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.store.ItemMapper;
import io.mqttdynamo.store.ItemWrite;

/** Keeps an ack stored before its message from being undone by the message, whichever replica takes each. */
final class EarlyAcks {

    private final ItemMapper items;
    private final ConsumedMessages seen;
    private final boolean deleteMessage;
    private final int perTopic;

    EarlyAcks(ItemMapper items, ConsumedMessages seen, boolean deleteMessage, int perTopic) {
        this.items = items;
        this.seen = seen;
        this.deleteMessage = deleteMessage;
        this.perTopic = perTopic;
    }

    /**
     * The writes of an acknowledgement's consumption: out of {@code MsgId}, and its mqtt_msg item gone if so set.
     * The removal is made only while the msgid is pending; when it is not, the topic's item is read, and a msgid
     * that was not pending there is marked in the item ({@code acked_first}) for the message's addition to find.
     * Both sides decide on the one topic item, so whichever write comes second sees the first; a mark that comes
     * after the addition finds the msgid and takes it out itself. Only an early ack costs a write more on each
     * side (and a read). The mqtt_msg item is deleted only once the removal is answered, so after a message item
     * whose msgid was found pending (its addition waits for the item, see {@link #message}).
     */
    List<ItemWrite> ack(BrokerEvent.MessageAcked e) {
        String msgId = e.msgId();
        boolean first = seen.acked(msgId);
        if (perTopic == 0) {
            return deleteMessage ? List.of(items.consumed(e), items.messageDeleted(e)) : List.of(items.consumed(e));
        }
        return List.of(items.consumed(e, List.of((sent, before) -> {
            List<ItemWrite> next = new ArrayList<>(2);
            // A later ack of the same message (another subscriber's) taken here: the first one marked it if needed.
            if (first && !before.contains(Attr.MSG_ID_SET, msgId) && !trimmed(before, msgId)) {
                next.add(items.earlyAck(
                        e.topic(),
                        msgId,
                        perTopic,
                        (mark, after) ->
                                // The message's addition came between the removal and the mark: it is undone here.
                                after.contains(Attr.MSG_ID_SET, msgId) ? settled(e.topic(), msgId) : List.of()));
            }
            if (deleteMessage) {
                next.add(items.messageDeleted(msgId));
            }
            return next;
        })));
    }

    /**
     * The writes of a message to be stored in mqtt_msg and {@code MsgId}. The addition is made only while the
     * msgid is not marked as acknowledged early; a marked one is not added and loses its mark (and, with
     * {@code acks.delete-message}, the message's item goes).
     */
    List<ItemWrite> message(BrokerEvent.MessagePublished e) {
        String msgId = e.msgId();
        if (perTopic == 0) {
            // Without marks, what this replica knows: a message whose ack it took first is not stored again.
            return deleteMessage && seen.wasAcked(msgId) ? List.of() : List.of(items.message(e), items.topicMessage(e));
        }
        ItemWrite pending = items.topicMessageUnlessAcked(
                e,
                List.of((sent, item) ->
                        item.contains(Attr.ACKED_FIRST, msgId) ? settled(e.topic(), msgId) : List.of()));
        // With delete-message, MsgId only once the item is stored: an ack that finds the msgid pending deletes
        // the item after it.
        return deleteMessage
                ? List.of(items.messageThen(e, List.of((sent, answer) -> List.of(pending))))
                : List.of(items.message(e), pending);
    }

    /** The early-acknowledged message leaves MsgId with its mark; its mqtt_msg item goes if so set. */
    private List<ItemWrite> settled(String topic, String msgId) {
        ItemWrite settled = items.earlyAcksSettled(topic, Set.of(msgId));
        return deleteMessage ? List.of(settled, items.messageDeleted(msgId)) : List.of(settled);
    }

    /**
     * True when {@code msgId} is older than every msgid pending for the topic: its message was stored and
     * trimmed from the capped set (oldest first) before its ack came, not yet to come. Its mark would never be
     * taken (and a message that late is the oldest there, the next trim's).
     */
    private static boolean trimmed(ItemWrite.Answer item, String msgId) {
        List<String> pending = item.strings(Attr.MSG_ID_SET);
        return !pending.isEmpty()
                && pending.stream().allMatch(member -> EmqxMsgId.OLDEST_FIRST.compare(msgId, member) < 0);
    }
}
