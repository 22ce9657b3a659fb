package dev.replicator.target.admin;

/** An image's id as the admin sees it: {@code GROUP@SEQ}, the group and its checkpoint's seq. */
public record ImageId(String group, long seq)
{
    public static ImageId parse(final String text) throws AdminException
    {
        final int at = text == null ? -1 : text.lastIndexOf('@');
        if (at <= 0 || at == text.length() - 1)
        {
            throw AdminException.badInput("image id '" + text + "' is not GROUP@SEQ (see 'replicator images list')");
        }
        try
        {
            return new ImageId(text.substring(0, at), Long.parseLong(text.substring(at + 1)));
        }
        catch (final NumberFormatException ex)
        {
            throw AdminException.badInput("image id '" + text + "' is not GROUP@SEQ (see 'replicator images list')");
        }
    }

    @Override
    public String toString()
    {
        return group + "@" + seq;
    }
}
