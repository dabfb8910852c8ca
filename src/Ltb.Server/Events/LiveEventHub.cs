using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Ltb.Server.Api;

namespace Ltb.Server.Events;

/// <summary>
/// A live event with what deciding who may see it needs: the lab's owner and group (the lab authorizer decides on these
/// alone), and the server process that published it (<see cref="LiveEventHub.Origin"/>, so a relay skips its own).
/// </summary>
public sealed record LiveEvent(LabLiveEventDto Data, Guid OwnerId, Guid? GroupId, string Origin = "")
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>Sends this process's events to the other replicas (<see cref="PostgresEventRelay"/>); none with SQLite.</summary>
public interface ILiveEventRelay
{
    void Send(LiveEvent e);
}

/// <summary>
/// The in-process publisher of live events: every event published here (by <see cref="LiveEventCapture"/> after a save,
/// or a node action) goes at once to every subscriber whose filter takes it, and to the relay for the other replicas;
/// events relayed from them come in through <see cref="Deliver"/>. Each subscriber has a bounded channel: one that falls
/// <see cref="Capacity"/> events behind is cut off (its stream ends with an <c>overflow</c> event and the client
/// reconnects), so a slow client never costs more than its channel. Subscriptions are capped per user and in all.
/// </summary>
public sealed class LiveEventHub
{
    public const int Capacity = 256;
    public const int MaxSubscribers = 2000;
    public const int MaxPerUser = 20;

    private readonly ConcurrentDictionary<Subscription, byte> _subscribers = new();
    private readonly ConcurrentDictionary<Guid, int> _perUser = new();
    // The labs' owner and group, for events whose save did not carry the lab (bounded: cleared when large).
    private readonly ConcurrentDictionary<Guid, (string Name, Guid Owner, Guid? Group)> _labs = new();

    /// <summary>This process, in relayed events.</summary>
    public string Origin { get; } = Guid.NewGuid().ToString("N");

    public ILiveEventRelay? Relay { get; set; }

    public int SubscriberCount => _subscribers.Count;

    /// <summary>A new subscription, or null when the caller (or the server) has as many streams open as allowed.</summary>
    public Subscription? Subscribe(Guid userId, Func<LiveEvent, bool> filter)
    {
        if (_subscribers.Count >= MaxSubscribers)
        {
            return null;
        }
        var count = _perUser.AddOrUpdate(userId, 1, (_, n) => n + 1);
        if (count > MaxPerUser)
        {
            Release(userId);
            return null;
        }
        var subscription = new Subscription(this, userId, filter);
        _subscribers[subscription] = 0;
        return subscription;
    }

    /// <summary>Publishes events of this process: to the local subscribers, then to the other replicas.</summary>
    public void Publish(LiveEvent e)
    {
        Remember(e);
        var local = e with { Origin = Origin };
        Deliver(local);
        Relay?.Send(local);
    }

    /// <summary>A node's state as the server learnt it (a node action's answer).</summary>
    public void NodeChanged(Data.Lab lab, string node, string state) => Publish(new LiveEvent(
        new LabLiveEventDto("node", lab.Id, lab.Name, DateTimeOffset.UtcNow) { Node = node, State = state }, lab.OwnerId, lab.GroupId));

    /// <summary>To the local subscribers only (events of this process, or relayed from another).</summary>
    public void Deliver(LiveEvent e)
    {
        foreach (var subscription in _subscribers.Keys)
        {
            subscription.Offer(e);
        }
    }

    /// <summary>Tells every subscriber that events may have been missed (the relay reconnected): clients read the state again.</summary>
    public void Resync()
    {
        foreach (var subscription in _subscribers.Keys)
        {
            subscription.Offer(null);
        }
    }

    /// <summary>The owner, group and name of a lab seen in an earlier event, if any.</summary>
    public (string Name, Guid Owner, Guid? Group)? Lab(Guid id) => _labs.TryGetValue(id, out var lab) ? lab : null;

    public void Remember(Guid id, string name, Guid owner, Guid? group)
    {
        if (_labs.Count > 10_000)
        {
            _labs.Clear();
        }
        _labs[id] = (name, owner, group);
    }

    private void Remember(LiveEvent e) => Remember(e.Data.Lab, e.Data.LabName, e.OwnerId, e.GroupId);

    private void Release(Guid userId)
    {
        if (_perUser.AddOrUpdate(userId, 0, (_, n) => n - 1) <= 0)
        {
            _perUser.TryRemove(new KeyValuePair<Guid, int>(userId, 0));
        }
    }

    /// <summary>
    /// One stream's queue. Null items are resync markers. Disposing (the client went away, the stream ended)
    /// unsubscribes at once.
    /// </summary>
    public sealed class Subscription : IDisposable
    {
        private readonly LiveEventHub _hub;
        private readonly Guid _userId;
        private readonly Func<LiveEvent, bool> _filter;
        private readonly Channel<LiveEvent?> _channel = Channel.CreateBounded<LiveEvent?>(
            new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        private int _disposed;

        internal Subscription(LiveEventHub hub, Guid userId, Func<LiveEvent, bool> filter)
        {
            _hub = hub;
            _userId = userId;
            _filter = filter;
        }

        public ChannelReader<LiveEvent?> Reader => _channel.Reader;

        /// <summary>The subscriber fell <see cref="Capacity"/> events behind and was cut off.</summary>
        public bool Overflowed { get; private set; }

        internal void Offer(LiveEvent? e)
        {
            if (Overflowed || (e is not null && !Filter(e)))
            {
                return;
            }
            if (!_channel.Writer.TryWrite(e))
            {
                Overflowed = true;
                _channel.Writer.TryComplete();
            }
        }

        private bool Filter(LiveEvent e)
        {
            try
            {
                return _filter(e);
            }
            catch (Exception)
            {
                return false; // a filter never breaks the publisher
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }
            _channel.Writer.TryComplete();
            _hub._subscribers.TryRemove(this, out _);
            _hub.Release(_userId);
        }
    }
}
