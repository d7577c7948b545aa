package io.mqttdynamo.hooks;

import static io.mqttdynamo.store.Tables.Attr;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.store.ItemWrite;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Keeps an acknowledgement stored before its message from being undone by the message, whichever replica takes
 * either: the ack's removal from {@code MsgId} answers with the topic's item as it was; a msgid that was not
 * pending there is marked in the item ({@code acked_first}). The message's addition to {@code MsgId} answers
 * with the item after it: a marked msgid is taken out again with its mark (and with {@code acks.delete-message}
 * the message's item goes). Both decisions are made on the one topic item, so whichever write comes second sees
 * the first (a mark that comes after the addition finds the msgid and takes it out itself). The answers cost no
 * capacity: a message and its ack in order cost what they did; an early ack costs one write of the topic's item
 * more on each side. With {@code acks.delete-message}, the addition waits until the message's mqtt_msg item is
 * stored and an ack deletes that item only once its removal is answered, so the deletion comes after the item.
 */
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

    /** The writes of an acknowledgement's consumption: out of {@code MsgId}, and its mqtt_msg item gone if so set. */
    List<ItemWrite> ack(BrokerEvent.MessageAcked e) {
        String msgId = e.msgId();
        boolean first = seen.acked(msgId);
        if (perTopic == 0) {
            return deleteMessage ? List.of(items.consumed(e), items.messageDeleted(e)) : List.of(items.consumed(e));
        }
        return List.of(items.consumed(e, List.of((sent, before) -> {
            List<ItemWrite> next = new ArrayList<>(2);
            // A later ack of the same message (another subscriber's) taken here: the first one marked it if needed.
            if (first && !member(before, Attr.MSG_ID_SET, msgId)) {
                next.add(items.earlyAck(e.topic(), msgId, perTopic, (mark, after) ->
                        // The message's addition came between the removal and the mark: it is undone here.
                        member(after, Attr.MSG_ID_SET, msgId) ? settled(e.topic(), msgId) : List.of()));
            }
            if (deleteMessage) {
                next.add(items.messageDeleted(msgId));
            }
            return next;
        })));
    }

    /** The writes of a message to be stored in mqtt_msg and {@code MsgId}. */
    List<ItemWrite> message(BrokerEvent.MessagePublished e) {
        String msgId = e.msgId();
        if (perTopic == 0) {
            // Without marks, what this replica knows: a message whose ack it took first is not stored again.
            return deleteMessage && seen.wasAcked(msgId) ? List.of()
                    : List.of(items.message(e), items.topicMessage(e));
        }
        ItemWrite pending = items.topicMessage(e, List.of((sent, after) -> member(after, Attr.ACKED_FIRST, msgId)
                ? settled(e.topic(), msgId) : List.of()));
        // With delete-message, MsgId only once the item is stored: an ack that finds the msgid pending deletes
        // the item after it.
        return deleteMessage ? List.of(items.messageThen(e, List.of((sent, answer) -> List.of(pending))))
                : List.of(items.message(e), pending);
    }

    /** The early-acknowledged message leaves MsgId with its mark; its mqtt_msg item goes if so set. */
    private List<ItemWrite> settled(String topic, String msgId) {
        ItemWrite settled = items.earlyAcksSettled(topic, Set.of(msgId));
        return deleteMessage ? List.of(settled, items.messageDeleted(msgId)) : List.of(settled);
    }

    private static boolean member(Map<String, AttributeValue> item, String attribute, String value) {
        AttributeValue set = item.get(attribute);
        return set != null && set.hasSs() && set.ss().contains(value);
    }
}
